from django.contrib import admin, messages
from django.db import models
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from environments.choices import EnvironmentKey, HealthStatus
from environments.dashboard import health_summary
from environments.models import Environment, RequiredVariable
from environments.panels import panels

# Services, engines and pages are imported in the functions that use them: start-up stays light (issue 19).

_BADGE = {HealthStatus.UP: "ops-ok", HealthStatus.DOWN: "ops-bad"}


class RequiredVariableInline(admin.TabularInline):
    model = RequiredVariable
    extra = 0
    fields = ["name", "scope", "expected_value", "secret", "description"]


@admin.register(Environment)
class EnvironmentAdmin(SimpleHistoryAdmin):
    list_display = ["name", "url", "deploy_source", "deployment_strategy", "data_policy", "health"]
    list_display_links = ["name"]
    list_filter = ["deployment_strategy", "data_policy", "last_health_status"]
    search_fields = ["name", "key", "url"]
    ordering = ["order"]
    inlines = [RequiredVariableInline]
    actions = ["run_health_check_now"]
    readonly_fields = ["health", "recent_checks", "panels"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["key", "name", "order", "purpose", "url"]}),
        ("Configuration (§2)", {"fields": ["database", "payments", "email", "storage", "storage_bucket", "auth"]}),
        ("Deployment", {"fields": ["deploy_source", "deploy_trigger", "deployment_strategy"]}),
        ("Data", {"fields": ["data_policy", "encrypted_at_rest", "backups_enabled"]}),
        (
            "Monitoring",
            {"fields": ["monitoring_enabled", "alerting_enabled", "health_check_enabled", "health_path", "health"]},
        ),
        ("Recent health checks", {"fields": ["recent_checks"], "classes": ["collapse"]}),
        ("Features", {"fields": ["features"], "classes": ["collapse"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None or not panels():
            return [f for f in fieldsets if "panels" not in f[1]["fields"]]
        return fieldsets + [("Operations", {"fields": ["panels"]})]

    @admin.display(description="")
    def panels(self, obj):
        parts = [format_html("<h3>{}</h3>{}", title, render(obj)) for title, render in panels()] if obj else []
        return format_html_join("", "{}", ((p,) for p in parts))

    def get_readonly_fields(self, request, obj=None):
        # The key ties an environment to the strategy; it is fixed once created.
        return [*self.readonly_fields, "key"] if obj else self.readonly_fields

    def has_add_permission(self, request):
        # The strategy has four environments; a new one only while one of them is missing.
        return super().has_add_permission(request) and Environment.objects.count() < len(EnvironmentKey)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Health", ordering="last_health_status")
    def health(self, obj):
        return format_html(
            '<span class="ops-badge {}" title="{}">{}</span>',
            _BADGE.get(obj.last_health_status, ""),
            obj.last_health_detail,
            health_summary(obj),
        )

    @admin.display(description="Last checks")
    def recent_checks(self, obj):
        checks = obj.health_checks.all()[:20] if obj.pk else []
        return render_to_string("admin/environments/recent_checks.html", {"checks": checks})

    @admin.action(description="Run health check now", permissions=["change"])
    def run_health_check_now(self, request, queryset):
        from environments import services  # here, not at start-up: it reaches monitoring and incidents

        ids, skipped = services.queue_health_checks(environment_ids=queryset.values_list("pk", flat=True))
        if ids:
            self.message_user(
                request,
                f"Health check queued for {len(ids)} environment(s); results appear here when the worker reports.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"Not probed, health checks are off: {', '.join(skipped)}. Turn them on in the environment first.",
                messages.WARNING,
            )
