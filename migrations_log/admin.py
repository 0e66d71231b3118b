from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from core.formatting import human_duration
from core.paginators import EstimatedCountPaginator
from deployments.public import Actor, RefKind, Release
from migrations_log.choices import Classification, RunStatus, Severity
from migrations_log.exceptions import MigrationRefused
from migrations_log.models import (
    Deprecation,
    LintFinding,
    Migration,
    MigrationRun,
    MigrationRunEvent,
    MigrationTarget,
    ReverseMigration,
)

# Services, engines and pages are imported in the functions that use them: start-up stays light (issue 19).

RECENT_RELEASES = 20


def recent_release_filter(path):
    """A sidebar filter on `path` listing the recent releases only (plus the chosen one), not all of them."""

    class RecentReleaseFilter(admin.SimpleListFilter):
        title = "release (recent)"
        parameter_name = "release"

        def lookups(self, request, model_admin):
            from migrations_log import services

            releases = list(services.releases_with_migrations()[:RECENT_RELEASES])
            chosen = _release_id(self.value())
            if chosen and chosen not in {r.pk for r in releases}:
                releases += list(Release.objects.filter(pk=chosen))
            return [(str(r.pk), str(r)) for r in releases]

        def queryset(self, request, queryset):
            chosen = _release_id(self.value())
            if self.value() and chosen is None:
                raise IncorrectLookupParameters(f"{self.value()!r} is not a release id.")
            return queryset.filter(**{path: chosen}) if chosen else queryset

    return RecentReleaseFilter


def _release_id(value):
    return int(value) if value and str(value).isdigit() else None


_TONE = {
    "applied": "ops-ok",
    "failed": "ops-bad",
    "running": "ops-warn",
    "error": "ops-bad",
    "warning": "ops-warn",
    "allowed": "ops-ok",
}


_URL_PK = 987654321987  # a placeholder id, replaced per row: one reverse() for the page
_RUN_TONE = {"applied": "ops-ok", "failed": "ops-bad"}


def _cell(environment, run):
    """One matrix cell: the run's status, duration (slow when over twice its estimate) and verifier, or pending."""
    if run is None:
        return format_html('<td data-environment="{}">pending</td>', environment.key)
    # One format_html per cell (its pieces are constants; every value is an argument, escaped).
    parts, values = ['<td data-environment="{}"><span class="{}">{}</span>'], [environment.key]
    values += [_RUN_TONE.get(run.status, "ops-warn"), _STATUS_LABELS.get(run.status, run.status)]
    if run.duration_seconds is not None:
        parts.append(" <small>{}%s</small>" % (' <span class="ops-bad">slow</span>' if run.slow else ""))
        values.append(human_duration(run.duration_seconds))
    if run.verified_at:
        parts.append(" <br><small>verified by {}</small>")
        values.append(run.verified_by)
    parts.append("</td>")
    return format_html("".join(parts), *values)


_FINDING_TONE = {"error": "ops-bad", "warning": "ops-warn"}
# Plain strings, not lazy translations: a matrix escapes thousands of them.
_STATUS_LABELS = {value: str(label) for value, label in RunStatus.choices}
_CLASS_LABELS = {value: str(label) for value, label in Classification.choices}


def _matrix_row(migration, cells, change_url):
    """One matrix row, rendered here: the template engine spent most of a 400-migration release's time."""
    estimate = f"{migration.estimate_seconds}s" if migration.estimate_seconds else "missing"
    findings = format_html_join(
        "",
        '<div class="{}">line {} {}{}</div>',
        (
            (_FINDING_TONE.get(f.severity, "ops-ok"), f.line, f.rule, " (acknowledged)" if f.acknowledged_at else "")
            for f in migration.findings.all()
        ),
    )
    return format_html(
        '<tr><td><a href="{}">{}</a><br><small>estimate {}</small></td><td>{}</td><td>{}</td>{}</tr>',
        change_url,
        migration.identifier,
        estimate,
        _CLASS_LABELS.get(migration.classification, migration.classification),
        findings or "—",
        format_html_join("", "{}", ((_cell(e, run),) for e, run in cells)),
    )


def _badge(value, label):
    return format_html('<span class="{}">{}</span>', _TONE.get(value, ""), label)


@admin.register(MigrationTarget)
class MigrationTargetAdmin(SimpleHistoryAdmin):
    list_display = ["environment", "database_url_variable", "lock_timeout_ms", "statement_timeout_ms", "enabled"]


class FindingInline(admin.TabularInline):
    model = LintFinding
    extra = 0
    can_delete = False
    fields = ["line", "rule", "severity", "message", "help", "drops", "acknowledged_by", "acknowledgement_reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class RunInline(admin.TabularInline):
    """The migration's history across environments."""

    model = MigrationRun
    extra = 0
    can_delete = False
    fields = ["environment", "status", "started_at", "took", "actor_label", "verified_by", "verified_at"]
    readonly_fields = fields

    @admin.display(description="Duration")
    def took(self, obj):
        return human_duration(obj.duration_seconds)

    ordering = ["started_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Migration)
class MigrationAdmin(SimpleHistoryAdmin):
    show_full_result_count = False  # no COUNT over a year of rows
    paginator = EstimatedCountPaginator
    list_display = ["identifier", "release", "classification", "estimate_seconds", "lint", "tested_locally_at"]
    list_filter = ["classification", recent_release_filter("release_id")]
    search_fields = ["identifier"]
    list_select_related = ["release"]
    inlines = [FindingInline, RunInline]
    fields = [
        "identifier",
        "release",
        "classification",
        "transactional",
        "estimate_seconds",
        "tested_locally_at",
        "sha256",
        "sql",
    ]
    actions = ["create_reverse_migration"]

    def get_readonly_fields(self, request, obj=None):
        # Never modified after registration: only the estimate is a person's to document.
        return [f for f in self.fields if f != "estimate_seconds"]

    def has_add_permission(self, request):
        return False  # registered by release: command, API or upload

    def has_delete_permission(self, request, obj=None):
        return False  # never deleted

    @admin.display(description="Lint")
    def lint(self, obj):
        counts = {s: 0 for s in Severity.values}
        for finding in obj.findings.all():
            counts[finding.severity] += 1
        # Colour only what is there: "0 errors" is good news, not red.
        errors, warnings = counts[Severity.ERROR], counts[Severity.WARNING]
        return format_html(
            '<span class="{}">{} error{}</span>, <span class="{}">{} warning{}</span>',
            "ops-bad" if errors else "ops-ok", errors, "" if errors == 1 else "s",
            "ops-warn" if warnings else "", warnings, "" if warnings == 1 else "s",
        )  # fmt: skip

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("findings")

    def has_reverse_permission(self, request):
        from migrations_log import services

        return request.user.has_perm(services.REVERSE_PERMISSION)

    @admin.action(description="Create reverse migration (a draft a person completes)", permissions=["reverse"])
    def create_reverse_migration(self, request, queryset):
        from migrations_log import services

        for migration in queryset:
            draft = services.create_reverse_draft(migration_id=migration.pk, user=request.user)
            self.message_user(request, f"Draft {draft.identifier} recorded: complete it under Reverse migrations.")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("release/<int:release_id>/", view(self.matrix_view), name="migrations_log_release_matrix"),
            path("upload/", view(self.upload_view), name="migrations_log_upload"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        from migrations_log import services

        releases = services.releases_with_migrations()[:RECENT_RELEASES]
        return super().changelist_view(request, {"releases": releases, **(extra_context or {})})

    def matrix_view(self, request, release_id):
        from migrations_log import services

        if not self.has_view_permission(request):
            raise PermissionDenied
        release = get_object_or_404(Release, pk=release_id)
        environments, rows = services.matrix(release)
        # Cells rendered here, not by the template engine: a release of 400 migrations × environments
        # spent most of its time resolving template variables.
        url = reverse("admin:migrations_log_migration_change", args=[_URL_PK]).replace(str(_URL_PK), "{}")
        rows = [_matrix_row(migration, cells, url.format(migration.pk)) for migration, cells in rows]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Migrations of {release}",
            "release": release,
            "environments": environments,
            "rows": rows,
            "promotion": [(e, services.start_refusal(release=release, environment=e)) for e in environments],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/migrations_log/matrix.html", context)

    def upload_view(self, request):
        from migrations_log import services

        if not request.user.has_perm("migrations_log.add_migration"):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                files = {f.name: f.read().decode() for f in request.FILES.getlist("files")}
                registered = services.register_release(
                    version=form.cleaned_data["version"],
                    files=files,
                    ref=form.cleaned_data["ref"],
                    ref_kind=form.cleaned_data["ref_kind"],
                    actor=Actor.PERSON,
                    user=request.user,
                )
            except UnicodeDecodeError:
                form.add_error("files", "Migration files must be UTF-8 text.")
            except MigrationRefused as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, registered.summary())
                return redirect(reverse("admin:migrations_log_release_matrix", args=[registered.release.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a release's migrations",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/migrations_log/upload.html", context)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        return [single(d, initial) for d in data] if isinstance(data, list | tuple) else [single(data, initial)]


class UploadForm(forms.Form):
    version = forms.CharField(max_length=100, help_text="e.g. v2.0 (a tag) or 2.0 with ref release/2.0.")
    ref = forms.CharField(max_length=200, required=False, help_text="For a new release; default: the version.")
    ref_kind = forms.ChoiceField(choices=[("", "—"), *RefKind.choices], required=False)
    files = MultipleFileField(help_text="Every *.sql file of the release's migrations directory.")


class AcknowledgeForm(ActionForm):
    reason = forms.CharField(required=False, max_length=300, help_text="Why this warning is acceptable.")


@admin.register(LintFinding)
class LintFindingAdmin(SimpleHistoryAdmin):
    show_full_result_count = False  # no COUNT over a year of rows
    paginator = EstimatedCountPaginator
    list_display = [
        "location",
        "rule",
        "severity_badge",
        "message",
        "help",
        "acknowledged_by",
        "acknowledgement_reason",
    ]
    list_filter = ["severity", "rule", recent_release_filter("migration__release_id")]
    list_select_related = ["migration", "acknowledged_by"]
    search_fields = ["migration__identifier", "rule"]
    action_form = AcknowledgeForm
    actions = ["acknowledge_warnings"]
    readonly_fields = [f.name for f in LintFinding._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Severity", ordering="severity")
    def severity_badge(self, obj):
        return _badge(obj.severity, obj.get_severity_display())

    def has_acknowledge_permission(self, request):
        return request.user.has_perm("migrations_log.acknowledge_lint_finding")

    @admin.action(description="Acknowledge selected warnings (give the reason above)", permissions=["acknowledge"])
    def acknowledge_warnings(self, request, queryset):
        from migrations_log import services

        for finding in queryset:
            try:
                services.acknowledge(finding_id=finding.pk, user=request.user, reason=request.POST.get("reason", ""))
            except MigrationRefused as exc:
                self.message_user(request, f"{finding.location} {finding.rule}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Acknowledged {finding.location} {finding.rule}.")


class MigrationRunEventInline(admin.TabularInline):
    model = MigrationRunEvent
    extra = 0
    can_delete = False
    fields = ["at", "old_status", "new_status", "actor", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(MigrationRun)
class MigrationRunAdmin(SimpleHistoryAdmin):
    show_full_result_count = False  # no COUNT over a year of rows
    paginator = EstimatedCountPaginator
    list_display = [
        "migration",
        "environment",
        "status_badge",
        "started_at",
        "estimate_vs_actual",
        "actor_label",
        "verified_by",
        "verified_at",
    ]
    list_filter = ["environment", "status", recent_release_filter("migration__release_id")]
    list_select_related = ["migration", "environment", "user", "verified_by"]
    search_fields = ["migration__identifier"]
    actions = ["verify_runs"]
    readonly_fields = [f.name for f in MigrationRun._meta.fields]
    inlines = [MigrationRunEventInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return _badge(obj.status, obj.get_status_display())

    @admin.display(description="Estimate → actual")
    def estimate_vs_actual(self, obj):
        estimate = obj.migration.estimate_seconds
        actual = human_duration(obj.duration_seconds)
        text = f"{human_duration(estimate)} → {actual}" if estimate else f"no estimate → {actual}"
        if obj.slow:
            return format_html('<span class="ops-bad">{} (over twice the estimate)</span>', text)
        return text

    def has_verify_permission(self, request):
        return request.user.has_perm("migrations_log.verify_migration_run")

    @admin.action(description="Verify selected staging runs", permissions=["verify"])
    def verify_runs(self, request, queryset):
        from migrations_log import services

        for run in queryset.filter(status=RunStatus.APPLIED):
            try:
                services.verify_run(run_id=run.pk, user=request.user)
            except MigrationRefused as exc:
                self.message_user(request, f"{run}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Verified {run.migration} on {run.environment}.")


@admin.register(Deprecation)
class DeprecationAdmin(admin.ModelAdmin):
    list_display = ["target", "kind", "release", "migration"]
    list_select_related = ["release", "migration"]

    def has_add_permission(self, request):
        return False  # recorded from a migration's `-- deprecates` line


@admin.register(ReverseMigration)
class ReverseMigrationAdmin(SimpleHistoryAdmin):
    list_display = ["identifier", "reverses", "status", "created_by", "created_at"]
    fields = ["reverses", "identifier", "status", "sql"]
    readonly_fields = ["reverses"]

    def has_add_permission(self, request):
        return False  # created by the "create reverse migration" action
