from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from monitoring.exceptions import EngineUnavailable, MonitoringRefused
from monitoring.models import Alert, AlertEvent, AlertNotification, Metric, OnCall, ScrapeTarget, Silence, Threshold

# Services, engines and pages are imported in the functions that use them: start-up stays light (issue 19).

OPERATE_PERMISSION = "monitoring.operate_alert"


class ServiceSaveMixin:
    """Saves go through the service (promtool first); a refusal shows its message and changes nothing."""

    service = None  # the name of the services function that saves this model

    def save_model(self, request, obj, form, change):
        from monitoring import services

        field = self.model._meta.model_name if self.model is not ScrapeTarget else "target"
        getattr(services, self.service)(**{field: obj}, user=request.user)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except MonitoringRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            from django.http import HttpResponseRedirect

            return HttpResponseRedirect(request.get_full_path())

    def delete_queryset(self, request, queryset):
        from monitoring import services

        services.delete_rows(queryset=queryset, user=request.user)

    def delete_model(self, request, obj):
        from monitoring import services

        services.delete_rows(queryset=type(obj).objects.filter(pk=obj.pk), user=request.user)


@admin.register(Metric)
class MetricAdmin(ServiceSaveMixin, SimpleHistoryAdmin):
    service = "save_metric"
    list_display = ["name", "key", "category", "unit", "per_slot", "window"]
    list_filter = ["category"]
    search_fields = ["key", "name"]
    actions = ["apply_configuration_now"]

    @admin.action(
        description="Write the configuration and reload Prometheus and Alertmanager now", permissions=["change"]
    )
    def apply_configuration_now(self, request, queryset):
        from monitoring import services

        if not request.user.has_perm("monitoring.change_metric"):
            raise PermissionDenied
        try:
            self.message_user(request, services.apply_configuration())
        except (MonitoringRefused, EngineUnavailable) as exc:
            self.message_user(request, str(exc), messages.ERROR)


@admin.register(Threshold)
class ThresholdAdmin(ServiceSaveMixin, SimpleHistoryAdmin):
    service = "save_threshold"
    list_display = ["metric", "environment", "warning", "critical", "for_seconds"]
    list_filter = ["environment", "metric__category"]


@admin.register(ScrapeTarget)
class ScrapeTargetAdmin(ServiceSaveMixin, SimpleHistoryAdmin):
    service = "save_target"
    list_display = ["environment", "kind", "address", "metrics_path", "slot", "enabled"]
    list_filter = ["environment", "kind", "enabled"]


@admin.register(OnCall)
class OnCallAdmin(SimpleHistoryAdmin):
    list_display = ["environment", "email"]

    def save_model(self, request, obj, form, change):
        from monitoring import services

        services.save_oncall(oncall=obj, user=request.user)


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    can_delete = False
    fields = ["at", "old_status", "new_status", "actor", "user", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class AlertActionForm(ActionForm):
    silence_reason = forms.CharField(required=False, label="Reason (for a silence)", max_length=500)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    action_form = AlertActionForm
    list_display = ["name", "environment", "severity_badge", "status", "summary", "starts_at", "ends_at",
                    "incident_link", "silenced"]  # fmt: skip
    list_filter = ["environment", "severity", "status", "source"]
    search_fields = ["name", "summary", "fingerprint"]
    list_select_related = ["environment", "silence", "silence__created_by", "incident"]
    readonly_fields = ["fingerprint", "name", "environment", "severity", "status", "labels", "summary", "source",
                       "starts_at", "ends_at", "updated_at", "incident_link", "acknowledged_by", "acknowledged_at",
                       "silenced"]  # fmt: skip
    exclude = ["incident", "silence"]
    inlines = [AlertEventInline]
    actions = ["acknowledge", "silence_1h", "silence_4h", "silence_24h", "read_silences"]
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="severity", ordering="severity")
    def severity_badge(self, obj):
        tone = "ops-bad" if obj.severity == "critical" else "ops-warn"
        return format_html('<span class="{}">{}</span>', tone, obj.severity)

    @admin.display(description="incident")
    def incident_link(self, obj):
        if not obj.incident_id:
            return "—"
        url = reverse("admin:incidents_incident_change", args=[obj.incident_id])
        return format_html('<a href="{}">#{}</a>', url, obj.incident_id)

    @admin.display(description="silence")
    def silenced(self, obj):
        s = obj.silence
        if s is None:
            return "—"
        state = "expired" if not s.active else f"until {s.ends_at:%Y-%m-%d %H:%M} UTC"
        return format_html("by {} {}: {}", s.who, state, s.comment)

    def _operate(self, request):
        if not self.has_operate_permission(request):
            raise PermissionDenied

    def has_operate_permission(self, request):
        return request.user.has_perm(OPERATE_PERMISSION)

    @admin.action(description="Acknowledge", permissions=["operate"])
    def acknowledge(self, request, queryset):
        from monitoring import services

        self._operate(request)
        done = sum(services.acknowledge(alert_id=a.pk, user=request.user) for a in queryset if a.status == "firing")
        self.message_user(request, f"{done} alert(s) acknowledged.")

    def _silence(self, request, queryset, hours):
        from monitoring import services

        self._operate(request)
        reason = request.POST.get("silence_reason", "").strip()
        try:
            row = services.silence(alert_ids=list(queryset.values_list("pk", flat=True)), hours=hours,
                                   reason=reason, user=request.user)  # fmt: skip
        except (MonitoringRefused, EngineUnavailable) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(
            request, f"Silenced in Alertmanager until {row.ends_at:%Y-%m-%d %H:%M} UTC ({row.alertmanager_id})."
        )

    @admin.action(description="Silence for 1 hour (give the reason in the box)", permissions=["operate"])
    def silence_1h(self, request, queryset):
        self._silence(request, queryset, 1)

    @admin.action(description="Silence for 4 hours (give the reason in the box)", permissions=["operate"])
    def silence_4h(self, request, queryset):
        self._silence(request, queryset, 4)

    @admin.action(description="Silence for 24 hours (give the reason in the box)", permissions=["operate"])
    def silence_24h(self, request, queryset):
        self._silence(request, queryset, 24)

    @admin.action(description="Read Alertmanager's silences now (ones made outside the console too)",
                  permissions=["operate"])  # fmt: skip
    def read_silences(self, request, queryset):
        from monitoring import services

        self._operate(request)
        services.request_silence_sync()
        self.message_user(request, "Reading Alertmanager's silences in the background; reload in a moment.")

    def get_urls(self):
        return [
            path("page/<str:key>/", self.admin_site.admin_view(self.monitoring_page), name="monitoring_page"),
            *super().get_urls(),
        ]

    def monitoring_page(self, request, key):
        from monitoring import pages

        return pages.environment_page(request, key, admin_context=self.admin_site.each_context(request))


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = ["alertmanager_id", "environment", "who", "starts_at", "ends_at", "expired_at", "comment"]
    list_filter = ["environment"]
    readonly_fields = ["alertmanager_id", "environment", "matchers", "comment", "author", "created_by", "starts_at",
                       "ends_at", "expired_at", "expired_by"]  # fmt: skip
    actions = ["expire", "sync"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request):
        return request.user.has_perm(OPERATE_PERMISSION)

    @admin.action(description="Expire in Alertmanager now", permissions=["operate"])
    def expire(self, request, queryset):
        from monitoring import services

        if not self.has_operate_permission(request):
            raise PermissionDenied
        for row in queryset:
            try:
                services.expire_silence(silence_id=row.pk, user=request.user)
            except (MonitoringRefused, EngineUnavailable) as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
        self.message_user(request, f"{queryset.count()} silence(s) expired.")

    @admin.action(
        description="Read Alertmanager's silences now (made anywhere: their alerts are marked; ended ones end here)",
        permissions=["operate"],
    )
    def sync(self, request, queryset):
        from monitoring import services

        if not self.has_operate_permission(request):
            raise PermissionDenied
        services.request_silence_sync()
        self.message_user(request, "Reading Alertmanager's silences in the background; reload in a moment.")


@admin.register(AlertNotification)
class AlertNotificationAdmin(admin.ModelAdmin):
    list_display = ["at", "environment", "event", "recipients", "subject", "attempts", "ok", "final", "error"]
    list_filter = ["environment", "event", "ok", "final"]
    readonly_fields = ["at", "environment", "event", "channel", "recipients", "subject", "body", "attempts", "ok",
                       "error", "final", "sent_at"]  # fmt: skip
    exclude = ["alerts"]

    def has_add_permission(self, request):
        return False
