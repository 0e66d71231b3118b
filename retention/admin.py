from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from core.admin_readonly import ReadOnlyAdminMixin
from retention import services
from retention.models import PruneRun, RetentionPolicy


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ("table", "time_field", "keep_days", "rollup_keep_days", "batch_size", "enabled", "note")
    list_editable = ()
    actions = ["prune_now"]

    @admin.action(description="Prune now (in the background)", permissions=["run_prune"])
    def prune_now(self, request, queryset):
        try:
            count = services.request_prune(actor=request.user, policy_ids=list(queryset.values_list("pk", flat=True)))
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"{count} prune(s) queued; each run is listed under Prune runs.")

    def has_run_prune_permission(self, request):
        return request.user.has_perm(services.RUN_PERMISSION)


@admin.register(PruneRun)
class PruneRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # How long it took, not when it finished: the list fits beside its filter (the times are on the run's page).
    list_display = ("started_at", "table", "removed", "rolled_up", "rollups_removed", "batches", "cutoff", "status",
                    "took", "started_by")  # fmt: skip
    list_filter = ("status", "table")
    show_full_result_count = False

    @admin.display(description="Took", ordering="finished_at")
    def took(self, run):
        if run.finished_at is None:
            return "running"
        seconds = (run.finished_at - run.started_at).total_seconds()
        return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
