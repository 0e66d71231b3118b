import os

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, YAML
from simple_history.admin import SimpleHistoryAdmin

from core.confirm import Confirmation, confirm
from core.formatting import human_duration
from core.imports import ImportPermissionMixin
from environments.public import Environment, EnvironmentKey, register_panel
from refreshes.choices import CHANGE_RULE_PERMISSION, RunKind, RunStatus, SourceKind, Strategy
from refreshes.exceptions import RefreshError
from refreshes.models import DataTarget, MaskingRule, RefreshRun, RefreshStep, RunEvent
from refreshes.resources import MaskingRuleResource

# Services, engines and pages are imported in the functions that use them: start-up stays light (issue 19).

_STATUS_TONE = {RunStatus.SUCCEEDED: "ops-ok", RunStatus.FAILED: "ops-bad", RunStatus.CANCELLED: "ops-warn"}


def _leak_badge(run):
    if run.leak_scan_passed is None:
        return "—"
    if run.leak_scan_passed:
        return mark_safe('<span class="ops-badge ops-ok">Leak scan passed</span>')  # noqa: S308 - constant
    return mark_safe('<span class="ops-badge ops-bad">Leak scan FAILED</span>')  # noqa: S308 - constant


def _duration(run):
    return human_duration(run.duration)


def _rows(run):
    if not run.row_counts:
        return "—"
    return format_html_join(", ", "{}: {}", sorted(run.row_counts.items()))


@admin.register(DataTarget)
class DataTargetAdmin(SimpleHistoryAdmin):
    list_display = ["environment", "dsn_env_var", "variable_set", "source_kind", "masking_key_env_var"]
    fields = ["environment", "dsn_env_var", "variable_set", "source_kind", "masking_key_env_var", "dev_seed"]
    readonly_fields = ["variable_set"]

    @admin.display(description="Set in this process?")
    def variable_set(self, obj):
        # Only whether it is set: the value is a secret and is never shown.
        return "yes" if obj.pk and os.environ.get(obj.dsn_env_var) else "no"


@admin.register(MaskingRule)
class MaskingRuleAdmin(ImportPermissionMixin, ImportExportModelAdmin, SimpleHistoryAdmin):
    resource_classes = [MaskingRuleResource]
    import_permissions = (CHANGE_RULE_PERMISSION,)  # adding a rule is checked row by row
    formats = [YAML, CSV]
    list_display = ["schema", "table", "column_label", "strategy", "params", "flag", "note"]
    list_display_links = ["table", "column_label"]
    list_filter = ["strategy", "schema", "table"]
    search_fields = ["schema", "table", "column", "note"]
    change_list_template = "admin/refreshes/maskingrule/change_list.html"

    def get_import_resource_kwargs(self, request, **kwargs):
        # The resource tells the person importing when it read old 2-part rows as public (preview and confirm).
        def note(text):
            self.message_user(request, text, messages.WARNING)

        return {**super().get_import_resource_kwargs(request, **kwargs), "note": note}

    def save_model(self, request, obj, form, change):
        # The form has validated; the service checks the permission and records who, as an import does.
        from refreshes import services

        services.save_masking_rule(rule=obj, actor=request.user)

    @admin.display(description="Column", ordering="column")
    def column_label(self, obj):
        return obj.column or "(whole table)"

    @admin.display(description="Personal?")
    def flag(self, obj):
        if obj.is_personal and obj.strategy == Strategy.KEEP:
            return mark_safe('<span class="ops-badge ops-warn">looks personal, kept</span>')  # noqa: S308 - constant
        return mark_safe('<span class="ops-badge">looks personal</span>') if obj.is_personal else ""  # noqa: S308

    def get_urls(self):
        extra = [
            path("check-schema/", self.admin_site.admin_view(self.check_schema_view), name="refreshes_check_schema"),
            path("preview/", self.admin_site.admin_view(self.preview_view), name="refreshes_preview"),
        ]
        return extra + super().get_urls()

    def check_schema_view(self, request):
        """Compare the rules with production's schema now (read-only, one information_schema query)."""
        from refreshes import services

        context = {**self.admin_site.each_context(request), "title": "Masking rules against production's schema"}
        try:
            context["check"] = services.check_rules_against_production()
        except Exception as exc:  # an unreachable production is reported on the page, not raised
            context["error"] = str(exc)
        return TemplateResponse(request, "admin/refreshes/check_schema.html", context)

    def preview_view(self, request):
        """Rows of the last masked copy: after masking only, the console never shows production rows."""
        from refreshes import services

        staging = Environment.objects.filter(key=EnvironmentKey.STAGING).first()
        run = services.latest_runs([staging.pk], status=RunStatus.SUCCEEDED).get(staging.pk) if staging else None
        table = request.GET.get("table", "")
        if table and "." not in table:
            table = f"public.{table}"  # a bare table name is in public, as in the rules
        tables = run.preview if run else {}
        if table:
            tables = {k: v for k, v in tables.items() if k == table}
        context = {
            **self.admin_site.each_context(request),
            "title": "Masking preview (after masking)",
            "run": run,
            "tables": sorted(tables.items()),
        }
        return TemplateResponse(request, "admin/refreshes/preview.html", context)


class RefreshStepInline(admin.TabularInline):
    model = RefreshStep
    extra = 0
    can_delete = False
    fields = ["name", "status", "started_at", "duration_ms", "row_counts", "detail"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class RunEventInline(admin.TabularInline):
    model = RunEvent
    extra = 0
    can_delete = False
    fields = ["at", "old_status", "new_status", "actor", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def describe_source(facts):
    if not facts:
        return "—"
    if facts.get("fallback"):
        return f"pg_dump of production, because {facts.get('fallback_reason', 'no backup could be used')}"
    if facts.get("kind") == SourceKind.BACKUP_RESTORE:
        text = f"backup {facts.get('backup_label')} of {facts.get('stanza')}, restored from repo{facts.get('repo')}"
        if facts.get("recovery_point"):
            text += f"; data as of {facts['recovery_point']}"
        if facts.get("repo_failures"):
            text += f" (after {'; '.join(facts['repo_failures'])})"
        return text
    return SourceKind(facts["kind"]).label if facts.get("kind") in SourceKind.values else facts.get("kind", "—")


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "environment", "status_badge", "created_at", "duration", "leak_scan_result"]
    list_filter = ["kind", "status", "environment"]
    list_select_related = ["environment"]
    inlines = [RefreshStepInline, RunEventInline]
    actions = ["cancel_runs", "resume_runs"]
    change_list_template = "admin/refreshes/refreshrun/change_list.html"
    fields = [
        "kind", "environment", "status_badge", "requested_by", "created_at", "started_at", "finished_at", "duration",
        "error_text", "copied_from", "leak_scan_result", "leak_scan_detail", "rows", "checks_summary", "test_logins",
    ]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return format_html('<span class="ops-badge {}">{}</span>', _STATUS_TONE.get(obj.status, ""), obj.status)

    @admin.display(description="Duration")
    def duration(self, obj):
        return _duration(obj)

    @admin.display(description="Error")
    def error_text(self, obj):
        if not obj.error:
            return "—"
        return format_html('<span class="ops-bad">{}</span>', obj.error)

    @admin.display(description="Leak scan")
    def leak_scan_result(self, obj):
        return _leak_badge(obj)

    @admin.display(description="Row counts")
    def rows(self, obj):
        return _rows(obj)

    @admin.display(description="What the scan looked at")
    def leak_scan_detail(self, obj):
        scan = obj.leak_scan or {}
        if not scan:
            return "—"
        text = f"{scan.get('columns_scanned', 0)} columns scanned for {scan.get('values_watched', 0)} production values"
        leaks = ", ".join(f"{x['column']} ({x['rows']} rows)" for x in scan.get("leaks", []))
        return f"{text}; found in: {leaks}" if leaks else f"{text}; none found"

    @admin.display(description="Copied from")
    def copied_from(self, obj):
        return describe_source((obj.checks or {}).get("source"))

    @admin.display(description="Checks")
    def checks_summary(self, obj):
        fks = (obj.checks or {}).get("foreign_keys") or []
        if not fks:
            return "—"
        broken = [f"{fk['child']} → {fk['parent']}: {fk['orphans']} orphans" for fk in fks if fk["orphans"]]
        lines = [f"{len(fks) - len(broken)} of {len(fks)} foreign keys hold", *broken]
        lines += [
            f"{fk['child']} reach {fk['parent']}: {fk['joined']} rows"
            for fk in fks
            if fk["name"] == "orders_customer_fk"
        ]
        left = obj.checks.get("payment_ids_left")
        lines.append(f"payment provider ids left: {', '.join(left)}" if left else "no payment provider id left")
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A run is a record: nothing on it is edited, so no save buttons.
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        # Read-only: titled by the run, not "Change refresh run".
        run = RefreshRun.objects.filter(pk=object_id).first()
        extra_context.setdefault("title", f"Refresh run: {run}" if run else "Refresh run")
        extra_context["show_save_and_add_another"] = False
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        extra = [
            path("start/<str:kind>/", self.admin_site.admin_view(self.start_view), name="refreshes_start_run"),
        ]
        return extra + super().get_urls()

    def start_view(self, request, kind):
        """'Refresh staging now' and 'Reset dev now': POST only, enqueued on commit, never waits for the work."""
        from refreshes import services

        changelist = reverse("admin:refreshes_refreshrun_changelist")
        if request.method != "POST" or kind not in RunKind.values:
            return HttpResponseRedirect(changelist)
        if not self.has_change_permission(request):
            self.message_user(request, "You may not start refreshes.", messages.ERROR)
            return HttpResponseRedirect(changelist)

        def perform(reason):
            try:
                run = services.start_run(kind=kind, requested_by=request.user.get_username(), reason=reason)
            except RefreshError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return HttpResponseRedirect(changelist)
            text = f"{run} queued; its steps appear here as the worker runs them."
            self.message_user(request, text, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:refreshes_refreshrun_change", args=[run.pk]))

        # Both replace a database: asked with a reason (core.confirm), kept on the run's first event and the audit.
        effects = {
            RunKind.STAGING_REFRESH: (
                "Refresh staging now",
                "Staging",
                "Staging's database is replaced by a masked copy of production's; whatever is in staging now is "
                "lost. Staging is unavailable while the run swaps the databases.",
            ),
            RunKind.DEV_RESET: (
                "Reset dev now",
                "Dev",
                "Dev's database is dropped and rebuilt from the seed data; whatever is in dev now is lost.",
            ),
        }
        action, environment, effect = effects[RunKind(kind)]
        confirmation = Confirmation(action=action, effect=effect, environment=environment, cancel_url=changelist)
        return confirm(request, confirmation, perform, admin_site=self.admin_site)

    @admin.action(description="Cancel selected runs", permissions=["change"])
    def cancel_runs(self, request, queryset):
        from refreshes import services

        for run in queryset.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING]):
            with transaction.atomic():
                services.cancel_run(run_id=run.pk, actor=request.user.get_username())
            self.message_user(request, f"{run} cancelled; its databases are being dropped.", messages.SUCCESS)

    @admin.action(description="Resume selected runs (after a worker crash)", permissions=["change"])
    def resume_runs(self, request, queryset):
        from refreshes import services

        for run in queryset:
            try:
                services.resume_run(run_id=run.pk)
                self.message_user(request, f"{run}: remaining steps queued.", messages.SUCCESS)
            except RefreshError as exc:
                self.message_user(request, str(exc), messages.WARNING)


def data_refreshes(obj):
    """On each environment's page: its last runs, with duration, row counts, leak scan and test logins."""
    runs = list(obj.refresh_runs.order_by("-created_at", "-pk")[:5]) if obj and obj.pk else []
    rows = [
        {
            "run": run,
            "url": reverse("admin:refreshes_refreshrun_change", args=[run.pk]),
            "duration": _duration(run),
            "source": describe_source((run.checks or {}).get("source")),
            "rows": _rows(run),
            "leak_scan": _leak_badge(run),
        }
        for run in runs
    ]
    logins = next((run.test_logins for run in runs if run.test_logins), [])
    return render_to_string("admin/refreshes/environment_runs.html", {"rows": rows, "logins": logins})


register_panel("Environment data: last refreshes and resets", data_refreshes)
