import csv
import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from core.admin_readonly import ReadOnlyAdminMixin
from core.admin_site import SecretPagesMixin
from environments.public import Environment, register_panel
from secrets_registry.choices import CheckStatus, RunStatus
from secrets_registry.drivers.base import ManagerError
from secrets_registry.exceptions import SecretsError
from secrets_registry.models import (
    AccessAudit,
    RotationRun,
    RotationRunEvent,
    SecretReference,
    ServiceAccount,
)

# Services, engines and pages are imported in the functions that use them: start-up stays light (issue 19).

AUDIT_CSV_FIELDS = ["at", "actor_kind", "actor", "action", "secret_name", "version_id", "detail"]


def status_tone(reference):
    if reference.check_status == CheckStatus.FAILING:
        return "bad"
    return "ok" if reference.check_status == CheckStatus.OK else "warn"


@admin.register(ServiceAccount)
class ServiceAccountAdmin(SecretPagesMixin, SimpleHistoryAdmin):
    list_display = ["name", "kind", "principal_arn", "description"]
    list_filter = ["kind"]
    search_fields = ["name", "principal_arn"]


@admin.register(SecretReference)
class SecretReferenceAdmin(SecretPagesMixin, SimpleHistoryAdmin):
    list_display = ["name", "environment", "variable", "status_badge", "rotation_kind", "last_rotated_at", "due",
                    "owner"]  # fmt: skip
    list_filter = ["environment", "rotation_kind", "check_status"]
    search_fields = ["name", "variable", "owner"]
    filter_horizontal = ["allowed_readers"]
    readonly_fields = ["exists", "has_current", "replicated", "current_version_id", "check_status", "check_detail",
                       "last_checked_at", "last_rotated_at", "due", "page_link"]  # fmt: skip
    actions = ["check_now", "rotate_now"]

    # The actions are offered to whoever the service lets do them (services._require).
    def has_check_permission(self, request):
        return request.user.has_perm("secrets_registry.check_secrets")

    def has_rotate_permission(self, request):
        return request.user.has_perm("secrets_registry.rotate_secrets")

    fieldsets = [
        (None, {"fields": ["environment", "variable", "name", "arn", "region", "owner", "allowed_readers",
                           "page_link"]}),
        ("Rotation", {"fields": ["rotation_kind", "rotation_period_days", "last_rotated_at", "due",
                                 "rotation_target", "target_environment", "target_role", "admin_url_variable",
                                 "target_service_account"]}),
        ("Last check", {"fields": ["check_status", "check_detail", "exists", "has_current", "replicated",
                                   "current_version_id", "last_checked_at"]}),
    ]  # fmt: skip

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # audit rows protect a reference once it was used
        return actions

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("environment/<str:key>/", wrap(self.environment_view),
                 name="secrets_registry_secretreference_environment"),
            path("environment/<str:key>/act/", wrap(self.act_view), name="secrets_registry_secretreference_act"),
            path("environment/<str:key>/policy.json", wrap(self.policy_view),
                 name="secrets_registry_secretreference_policy"),
            *super().get_urls(),
        ]  # fmt: skip

    @admin.display(description="Status")
    def status_badge(self, obj):
        tone = status_tone(obj)
        text = {"ok": "ok", "bad": f"red: {obj.check_detail.replace(chr(10), '; ')}", "warn": "not checked"}[tone]
        return format_html('<span class="ops-{}">{}</span>', tone, text)

    @admin.display(description="Next due")
    def due(self, obj):
        due = obj.next_due if obj and obj.pk else None
        if due is None:
            return "—"
        return format_html('<span class="ops-{}">{}</span>', "bad" if obj.is_overdue() else "ok",
                           f"{due:%Y-%m-%d}{' (overdue)' if obj.is_overdue() else ''}")  # fmt: skip

    @admin.display(description="Secrets page")
    def page_link(self, obj):
        if not obj or not obj.pk:
            return "—"
        url = reverse("admin:secrets_registry_secretreference_environment", args=[obj.environment.key])
        return format_html('<a href="{}">Secrets of {}</a>', url, obj.environment)

    @admin.action(description="Check now (exists, current version, replicated, due)", permissions=["check"])
    def check_now(self, request, queryset):
        from secrets_registry import services

        try:
            report = services.check_secrets(references=queryset, user=request.user)
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, report.summary(), messages.SUCCESS if report.passed else messages.ERROR)

    @admin.action(
        description="Rotate now (automatic kinds; production waits for a second person)", permissions=["rotate"]
    )
    def rotate_now(self, request, queryset):
        for reference in queryset:
            self._rotate(request, reference)

    def _rotate(self, request, reference):
        from secrets_registry import services

        try:
            run = services.request_rotation(reference_id=reference.pk, user=request.user)
        except (SecretsError, PermissionDenied) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        if run.status == RunStatus.AWAITING_APPROVAL:
            self.message_user(request, f"Rotation #{run.pk} of {reference.name} awaits a second person's approval "
                                       "(Rotation runs → Approve).", messages.WARNING)  # fmt: skip
        else:
            self.message_user(request, f"Rotation #{run.pk} of {reference.name} queued.", messages.SUCCESS)

    def _environment(self, key):
        environment = Environment.objects.filter(key=key).first()
        if environment is None:
            raise Http404(f"No environment {key!r}.")
        return environment

    def environment_view(self, request, key):
        from secrets_registry import alerting

        if not self.has_view_permission(request):
            raise PermissionDenied
        environment = self._environment(key)
        now = timezone.now()
        references = list(SecretReference.objects.filter(environment=environment).prefetch_related("allowed_readers"))
        rows = [{"ref": r, "tone": status_tone(r), "overdue": r.is_overdue(now), "due": r.next_due,
                 "people": [a.name for a in r.allowed_readers.all() if a.is_person]} for r in references]  # fmt: skip
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "environment": environment,
            "title": f"Secrets: {environment}", "rows": rows,
            "green": all(row["tone"] == "ok" for row in rows),
            "audit": AccessAudit.objects.filter(reference__environment=environment).select_related("user")[:20],
            "runs": RotationRun.objects.filter(reference__environment=environment).select_related("reference")[:10],
            "in_flight": RotationRun.objects.filter(reference__environment=environment,
                                                    status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).exists(),
            "alerts": alerting.open_alerts(environment),
        }  # fmt: skip
        return TemplateResponse(request, "admin/secrets_registry/environment.html", context)

    def act_view(self, request, key):
        from secrets_registry import services

        if request.method != "POST":
            raise PermissionDenied
        environment = self._environment(key)
        action = request.POST.get("action", "")
        page = HttpResponseRedirect(reverse("admin:secrets_registry_secretreference_environment", args=[key]))
        try:
            if action == "check":
                report = services.check_secrets(environment=environment, user=request.user)
                level = messages.SUCCESS if report.passed else messages.ERROR
                self.message_user(request, report.summary(), level)
                return page
            if action == "rotate_due":
                runs = services.rotate_due(user=request.user, environment=environment)
                listed = "".join(f"; #{r.pk} {r.get_status_display().lower()}" for r in runs)
                self.message_user(request, f"{len(runs)} rotations requested{listed}.")
                return page
            reference = get_object_or_404(SecretReference, pk=request.POST.get("reference"), environment=environment)
            if action == "rotate":
                self._rotate(request, reference)
            elif action == "mark_rotated":
                services.mark_rotated(reference_id=reference.pk, user=request.user, note=request.POST.get("note", ""))
                self.message_user(request, f"{reference.name} marked rotated.", messages.SUCCESS)
            else:
                self.message_user(request, f"Unknown action {action!r}: nothing done.", messages.ERROR)
        except (SecretsError, PermissionDenied, ManagerError) as exc:
            self.message_user(request, f"Nothing done: {exc}", messages.ERROR)
        return page

    def policy_view(self, request, key):
        from secrets_registry import policy

        if not request.user.has_perm("secrets_registry.export_policy"):
            raise PermissionDenied
        document = policy.export(self._environment(key))
        response = HttpResponse(json.dumps(document, indent=2), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="secrets-policy-{key}.json"'
        return response


class RotationRunEventInline(admin.TabularInline):
    model = RotationRunEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "old_status", "new_status", "actor", "user", "reason"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RotationRun)
class RotationRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "reference", "status", "step", "requested_by", "approved_by", "created_at", "reason"]
    list_filter = ["status", "reference__environment"]
    readonly_fields = [f.name for f in RotationRun._meta.fields]
    inlines = [RotationRunEventInline]
    actions = ["approve", "reject", "resume"]

    def has_approve_permission(self, request):
        return request.user.has_perm("secrets_registry.approve_production_rotation")

    def has_rotate_permission(self, request):
        return request.user.has_perm("secrets_registry.rotate_secrets")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _each(self, request, queryset, fn, done):
        for run in queryset:
            try:
                fn(run_id=run.pk, user=request.user)
            except (SecretsError, PermissionDenied) as exc:
                self.message_user(request, f"Rotation #{run.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Rotation #{run.pk} {done}.", messages.SUCCESS)

    @admin.action(description="Approve (a second person; production)", permissions=["approve"])
    def approve(self, request, queryset):
        from secrets_registry import services

        self._each(request, queryset, services.approve_rotation, "approved and queued")

    @admin.action(description="Reject", permissions=["approve"])
    def reject(self, request, queryset):
        from secrets_registry import services

        self._each(request, queryset, services.reject_rotation, "rejected")

    @admin.action(description="Resume (after a worker died)", permissions=["rotate"])
    def resume(self, request, queryset):
        from secrets_registry import services

        self._each(request, queryset, services.resume_rotation, "queued again")


@admin.register(AccessAudit)
class AccessAuditAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "actor_kind", "actor", "action", "secret_name", "version_id", "detail"]
    list_filter = ["action", "actor_kind", "reference__environment"]
    search_fields = ["secret_name", "actor", "version_id", "detail"]
    date_hierarchy = "at"
    actions = ["export_csv"]

    @admin.action(description="Export selected rows as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="secrets-access-audit.csv"'
        writer = csv.writer(response)
        writer.writerow(AUDIT_CSV_FIELDS)
        for row in queryset.order_by("at", "pk").values_list(*AUDIT_CSV_FIELDS):
            # A leading =, +, - or @ would run as a formula in a spreadsheet.
            writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v for v in row])
        return response


def environment_secrets(obj):
    """On each environment's page: its secrets' statuses in one line, linking to the secrets page."""
    references = list(SecretReference.objects.filter(environment=obj)) if obj and obj.pk else []
    if not references:
        return format_html("<p>{}</p>", "No secret references.")
    red = [r.name for r in references if status_tone(r) == "bad"]
    return format_html(
        '<p><span class="ops-{}">{}</span> of {} secrets · <a href="{}">Secrets page</a></p>',
        "bad" if red else "ok", f"{len(red)} red" if red else "all green", len(references),
        reverse("admin:secrets_registry_secretreference_environment", args=[obj.key]),
    )  # fmt: skip


register_panel("Secrets", environment_secrets)
