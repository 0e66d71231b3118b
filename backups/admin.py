from datetime import UTC, datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from simple_history.admin import SimpleHistoryAdmin

from backups.exceptions import BackupError
from backups.models import (
    AssetBucket,
    BackupPolicy,
    BackupRun,
    BackupRunEvent,
    ProtectedDatabase,
    RestoreDrill,
    RestoreDrillEvent,
    RpoCheck,
    RpoCheckHourly,
    ServiceTier,
)
from core.admin_readonly import ReadOnlyAdminMixin
from core.confirm import Confirmation, confirm
from core.paginators import EstimatedCountPaginator

# Services, engines and pages are imported in the functions that use them: start-up stays light (issue 19).

PAGE_ACTIONS = [
    ("full", "Back up now (full)"),
    ("incr", "Back up now (incremental)"),
    ("verify", "Verify now"),
    ("drill", "Drill now"),
    ("check", "Run pgbackrest check"),
    ("rpo", "Check RPO and backup age now"),
]


BACKUP_NOW = ("full", "incr")


def backup_confirmation(databases, backup_type, *, cancel_url):
    """What "Back up now" will do, for the confirmation page."""
    names = ", ".join(f"{d.environment} ({d.stanza})" for d in databases)
    kind = "A full" if backup_type == "full" else "An incremental"
    effect = (
        f"{kind} pgBackRest backup of {names} starts now, outside the schedule: it loads the database server while "
        "it runs, and its retention may expire the oldest backup."
    )
    environments = sorted({d.environment.name for d in databases})
    return Confirmation(
        action=f"Back up now ({backup_type})",
        effect=effect,
        environment=", ".join(environments) or "—",
        production=any(d.environment.is_production for d in databases),
        cancel_url=cancel_url,
    )


def _actor(request):
    return request.user.get_username()


@admin.register(ServiceTier)
class ServiceTierAdmin(SimpleHistoryAdmin):
    list_display = ["name", "tier", "rto_minutes", "database_name", "row_count_tables"]
    list_editable = ["rto_minutes"]
    ordering = ["tier", "order"]


@admin.register(BackupPolicy)
class BackupPolicyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "full_hour_utc", "incr_every_hours", "retention_days", "cross_region_copy",
                    "rpo_target_minutes", "rto_target_minutes"]  # fmt: skip
    readonly_fields = ["beat_schedule"]

    def save_model(self, request, obj, form, change):
        # The admin saves inside one transaction: the beat rows change with the policy, or neither does.
        from backups import services

        super().save_model(request, obj, form, change)
        services.apply_policy_schedule(obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Beat schedule (follows this policy)")
    def beat_schedule(self, obj):
        from backups import services

        if not obj.pk:
            return "Set after saving."
        rows = services.policy_schedules(obj)
        return format_html_join(
            mark_safe("<br>"),
            "{}: {} {} * * {}{}",
            (
                (name, cron["minute"], cron["hour"], cron.get("day_of_week", "*"), "" if enabled else " (off)")
                for name, _task, cron, _kwargs, enabled in rows
            ),
        )


@admin.register(ProtectedDatabase)
class ProtectedDatabaseAdmin(SimpleHistoryAdmin):
    list_display = ["environment", "stanza", "status_badge", "last_backup", "page_link"]
    readonly_fields = ["last_check_at", "last_check_ok", "last_check_detail", "page_link"]
    actions = ["back_up_full", "back_up_incr", "verify_now", "drill_now", "check_rpo_now"]
    fieldsets = [
        (None, {"fields": ["environment", "policy", "stanza", "enabled", "page_link"]}),
        (
            "Connection",
            {
                "fields": [
                    "host",
                    "port",
                    "user",
                    "data_directory",
                    "socket_directory",
                    "pg_bin_dir",
                    "os_user",
                    "start_fast",
                ]
            },
        ),  # fmt: skip
        (
            "Repositories",
            {
                "fields": [
                    "work_dir",
                    "repo1_path",
                    "repo1_region",
                    "repo2_type",
                    "repo2_path",
                    "repo2_region",
                    "cipher",
                    "cipher_pass_env",
                ]
            },
        ),
        (
            "repo2 in an S3 bucket",
            {
                "fields": [
                    "repo2_s3_bucket",
                    "repo2_s3_endpoint",
                    "repo2_s3_port",
                    "repo2_s3_uri_style",
                    "repo2_s3_ca_file",
                    "repo2_s3_verify_tls",
                    "repo2_s3_key_env",
                    "repo2_s3_secret_env",
                ],
                "classes": ["collapse"],
            },
        ),
        ("Last pgbackrest check", {"fields": ["last_check_at", "last_check_ok", "last_check_detail"]}),
    ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/backups/", wrap(self.page_view), name="backups_protecteddatabase_page"),
            path("<int:pk>/backups/act/", wrap(self.act_view), name="backups_protecteddatabase_act"),
            path("<int:pk>/backups/restore/", wrap(self.restore_view), name="backups_protecteddatabase_restore"),
            *super().get_urls(),
        ]

    list_select_related = ["environment", "policy"]

    def get_changelist_instance(self, request):
        # Each row's status and last backup from a few queries for the page, not several per database.
        from backups import monitor

        changelist = super().get_changelist_instance(request)
        changelist.result_list = list(changelist.result_list)
        latest = monitor.latest_records([d.pk for d in changelist.result_list])
        findings = monitor.statuses(changelist.result_list, latest=latest)
        for database in changelist.result_list:
            database.findings, database.last_good_run = findings[database.pk], latest[database.pk]["any_run"]
        return changelist

    @admin.display(description="Status")
    def status_badge(self, obj):
        from backups import monitor

        findings = getattr(obj, "findings", None) or monitor.status(obj)
        red = [f.name for f in findings if not f.ok]
        return format_html('<span class="{}">{}</span>', "ops-bad" if red else "ops-ok",
                           f"red: {', '.join(red)}" if red else "green")  # fmt: skip

    @admin.display(description="Last good backup")
    def last_backup(self, obj):
        from backups import monitor

        run = obj.last_good_run if hasattr(obj, "last_good_run") else monitor.last_good(obj)
        return f"{run.label} ({run.get_type_display().lower()})" if run else "none"

    @admin.display(description="Backups page")
    def page_link(self, obj):
        if not obj or not obj.pk:
            return "—"
        return format_html('<a href="{}">Backups page</a>', reverse("admin:backups_protecteddatabase_page",
                                                                    args=[obj.pk]))  # fmt: skip

    def page_view(self, request, pk):
        from backups.overview import overview

        database = get_object_or_404(ProtectedDatabase.objects.select_related("policy", "environment"), pk=pk)
        if not self.has_view_permission(request, database):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), **overview(database), "opts": self.model._meta,
                   "title": f"Backups: {database.environment}", "actions": PAGE_ACTIONS}  # fmt: skip
        return TemplateResponse(request, "admin/backups/overview.html", context)

    def _page(self, pk):
        return HttpResponseRedirect(reverse("admin:backups_protecteddatabase_page", args=[pk]))

    def act_view(self, request, pk):
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        database = get_object_or_404(ProtectedDatabase.objects.select_related("environment"), pk=pk)
        action = request.POST.get("action")

        def perform(reason=""):
            try:
                self.message_user(request, self._act(request, database, action, reason=reason), messages.SUCCESS)
            except BackupError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            return self._page(pk)

        if action not in BACKUP_NOW:
            return perform()
        return confirm(request, backup_confirmation([database], action, cancel_url=self._page(pk).url), perform,
                       admin_site=self.admin_site)  # fmt: skip

    def _act(self, request, database, action, reason=""):
        from backups import drills, services

        if action in BACKUP_NOW:
            run = services.request_backup(
                database_id=database.pk, backup_type=action, actor=_actor(request), reason=reason
            )
            return f"Backup #{run.pk} ({run.get_type_display().lower()}) queued; its progress shows below."
        if action == "verify":
            services.request_verify(database_id=database.pk)
            return "Verify queued; failed verifications show on the runs and as an alert."
        if action == "drill":
            drill = drills.request_drill(database_id=database.pk, actor=_actor(request))
            return f"Drill #{drill.pk} queued; the scratch cluster is deleted afterwards."
        if action == "check":
            services.request_stanza_check(database_id=database.pk)
            return "pgbackrest check queued."
        if action == "rpo":
            services.request_rpo_check(database_id=database.pk)
            return "RPO and backup-age checks queued; a breach raises its alert."
        raise BackupError(f"Unknown action {action!r}.")

    def restore_view(self, request, pk):
        from backups import drills

        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        database = get_object_or_404(ProtectedDatabase, pk=pk)
        try:
            target = _parse_time(request.POST.get("target_time", ""))
            restore = drills.request_restore(
                database_id=database.pk, actor=_actor(request), target_time=target,
                reason=request.POST.get("reason", ""), confirmation=request.POST.get("confirmation", ""),
                repo=int(request.POST.get("repo") or 1),
            )  # fmt: skip
        except (BackupError, ValueError) as exc:
            self.message_user(request, f"Nothing restored: {exc}", messages.ERROR)
        else:
            text = (f"Restore #{restore.pk} to {target:%Y-%m-%d %H:%M:%S} UTC queued by {restore.requested_by}; "
                    "a person promotes the new directory.")  # fmt: skip
            self.message_user(request, text, messages.SUCCESS)
        return self._page(pk)

    def _bulk(self, request, queryset, fn, what):
        done = []
        for database in queryset:
            try:
                fn(database)
                done.append(database.stanza)
            except BackupError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        if done:
            self.message_user(request, f"{what} queued for {', '.join(done)}.", messages.SUCCESS)

    def _back_up(self, request, queryset, backup_type, what):
        """The list's "Back up now" actions: asked with a reason first (core.confirm), then queued per database."""
        from backups import services

        databases = list(queryset.select_related("environment"))
        actor = _actor(request)

        def perform(reason):
            self._bulk(
                request,
                databases,
                lambda d: services.request_backup(
                    database_id=d.pk, backup_type=backup_type, actor=actor, reason=reason
                ),  # fmt: skip
                what,
            )
            return None  # back to the list, as after any action

        cancel = reverse("admin:backups_protecteddatabase_changelist")
        return confirm(request, backup_confirmation(databases, backup_type, cancel_url=cancel), perform,
                       admin_site=self.admin_site)  # fmt: skip

    @admin.action(description="Back up now (full)", permissions=["change"])
    def back_up_full(self, request, queryset):
        return self._back_up(request, queryset, "full", "Full backup")

    @admin.action(description="Back up now (incremental)", permissions=["change"])
    def back_up_incr(self, request, queryset):
        return self._back_up(request, queryset, "incr", "Incremental")

    @admin.action(description="Verify now", permissions=["change"])
    def verify_now(self, request, queryset):
        from backups import services

        self._bulk(request, queryset, lambda d: services.request_verify(database_id=d.pk), "Verify")

    @admin.action(description="Drill now", permissions=["change"])
    def drill_now(self, request, queryset):
        from backups import drills

        self._bulk(request, queryset, lambda d: drills.request_drill(database_id=d.pk, actor=_actor(request)), "Drill")

    @admin.action(description="Check RPO now", permissions=["change"])
    def check_rpo_now(self, request, queryset):
        """Beat's minute-by-minute RPO and backup-age check, by hand: queued for a worker, never run here."""
        from backups import services

        check = services.request_rpo_check
        self._bulk(request, queryset, lambda d: check(database_id=d.pk), "RPO and backup-age check")


def _parse_time(text):
    text = text.strip()
    if not text:
        raise ValueError("choose the point in time to restore to")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time, e.g. 2026-01-31T14:05:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class RunEventInline(admin.TabularInline):
    model = BackupRunEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "old_status", "new_status", "actor", "reason"]

    def has_add_permission(self, request, obj=None):
        return False


class DrillEventInline(RunEventInline):
    model = RestoreDrillEvent


@admin.register(BackupRun)
class BackupRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "database", "type", "status", "label", "finished_at", "size_bytes", "verification"]
    list_filter = ["status", "type", "verification", "database"]
    list_select_related = ["database__environment"]
    inlines = [RunEventInline]


@admin.register(RestoreDrill)
class RestoreDrillAdmin(ReadOnlyAdmin):
    list_display = ["pk", "database", "kind", "status", "target_time", "measured_rto", "requested_by", "finished_at"]
    list_filter = ["kind", "status"]
    inlines = [DrillEventInline]


@admin.register(RpoCheck)
class RpoCheckAdmin(ReadOnlyAdmin):
    list_display = ["checked_at", "database", "ok", "worst_case_loss", "last_archived_wal", "detail"]
    list_filter = ["ok", "database"]
    list_select_related = ["database__environment"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(RpoCheckHourly)
class RpoCheckHourlyAdmin(ReadOnlyAdmin):
    """13 months of RPO history after the raw checks are pruned (retention)."""

    list_display = ["hour", "database", "checks", "failed", "archiving_failing", "loss_unknown", "worst_case_loss",
                    "unarchived_bytes"]  # fmt: skip
    list_filter = ["database__environment", "database"]
    list_select_related = ["database__environment"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(AssetBucket)
class AssetBucketAdmin(SimpleHistoryAdmin):
    list_display = ["name", "environment", "region", "last_ok", "last_checked_at", "findings"]
    readonly_fields = ["last_checked_at", "last_ok", "last_findings"]
    actions = ["check_now"]

    @admin.display(description="Drift")
    def findings(self, obj):
        return "; ".join(obj.last_findings) or "—"

    @admin.action(description="Check the bucket now", permissions=["change"])
    def check_now(self, request, queryset):
        from backups import services

        for bucket in queryset:
            services.request_bucket_check(bucket_id=bucket.pk)
        self.message_user(request, f"Bucket check queued for {queryset.count()} bucket(s).", messages.SUCCESS)
