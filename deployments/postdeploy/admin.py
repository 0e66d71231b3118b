"""Admin for the post-deployment checklist: the journeys per environment, their runs, and the deployment page's
actions (run the checks now, keep the release, review error logs). The buttons live in _post_deploy.html."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse

from deployments.exceptions import DeploymentRefused
from deployments.postdeploy.models import JourneyRun, JourneyStep, ReleaseNotification, SyntheticJourney

# Services, engines and pages are imported in the functions that use them: start-up stays light (issue 19).


class JourneyStepInline(admin.TabularInline):
    model = JourneyStep
    extra = 0
    fields = ["order", "name", "method", "path", "form", "expected_status", "body_contains"]


@admin.register(SyntheticJourney)
class SyntheticJourneyAdmin(admin.ModelAdmin):
    list_display = ["name", "policy", "order", "enabled"]
    list_filter = ["policy__environment", "enabled"]
    list_select_related = ["policy__environment"]
    inlines = [JourneyStepInline]


@admin.register(JourneyRun)
class JourneyRunAdmin(admin.ModelAdmin):
    list_display = ["journey_name", "deployment", "started_at", "passed", "failing_step", "kept_by"]
    list_filter = ["passed", "deployment__environment"]
    list_select_related = ["deployment__release", "deployment__environment", "kept_by"]
    raw_id_fields = ["deployment", "journey"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # a run is a record; a decision is taken on the deployment page


@admin.register(ReleaseNotification)
class ReleaseNotificationAdmin(admin.ModelAdmin):
    list_display = ["deployment", "channel", "state", "attempts", "last_error", "sent_at"]
    list_filter = ["state", "channel"]
    list_select_related = ["deployment__release", "deployment__environment"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def has_operate_permission(modeladmin, request):
    """The "operate" admin-action permission: deployments.operate_deployment."""
    from deployments import services as deployment_services

    return request.user.has_perm(deployment_services.OPERATE_PERMISSION)


@admin.action(
    description="Run the post-deployment checks now (and resend failed notifications)", permissions=["operate"]
)
def run_post_deploy_checks(modeladmin, request, queryset):
    """Enqueues a round per succeeded deployment; never waits on the storefront here."""
    from deployments.postdeploy import notify, services

    if not has_operate_permission(modeladmin, request):
        raise PermissionDenied
    queued, skipped = [], []
    for deployment in queryset.select_related("environment"):
        if deployment.status != "succeeded":
            skipped.append(f"#{deployment.pk}")
            continue
        notify.queue_notifications(deployment, retry_failed=True)
        services.enqueue_round(deployment.pk, force=True)
        queued.append(f"#{deployment.pk}")
    if queued:
        modeladmin.message_user(request, f"Post-deployment checks queued for {', '.join(queued)}.", messages.SUCCESS)
    if skipped:
        modeladmin.message_user(request, f"Not succeeded, skipped: {', '.join(skipped)}.", messages.WARNING)


def _back(pk):
    return redirect(reverse("admin:deployments_deployment_change", args=[pk]) + "#post-deploy")


def _act(modeladmin, request, fn, done):
    try:
        fn()
    except DeploymentRefused as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
    else:
        modeladmin.message_user(request, done, messages.SUCCESS)


def urls(modeladmin):
    """The deployment page's post-deployment actions, under the deployment admin's URLs."""
    view = modeladmin.admin_site.admin_view

    def keep(request, pk):
        from deployments import services as deployment_services
        from deployments.postdeploy import services

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(deployment_services.OPERATE_PERMISSION):
            raise PermissionDenied
        _act(
            modeladmin,
            request,
            lambda: services.keep_release(deployment_id=pk, user=request.user, reason=request.POST.get("reason", "")),
            "Release kept; the decision is recorded.",
        )
        return _back(pk)

    def error_logs(request, pk):
        from deployments.postdeploy import services

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("deployments.check_checklist"):
            raise PermissionDenied
        _act(
            modeladmin,
            request,
            lambda: services.review_error_logs(deployment_id=pk, user=request.user, link=request.POST.get("link", "")),
            "Checked: Review error logs.",
        )
        return _back(pk)

    def run_now(request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        run_post_deploy_checks(modeladmin, request, modeladmin.model.objects.filter(pk=pk))
        return _back(pk)

    return [
        path("<int:pk>/post-deploy/keep/", view(keep), name="deployments_deployment_keep"),
        path("<int:pk>/post-deploy/error-logs/", view(error_logs), name="deployments_deployment_error_logs"),
        path("<int:pk>/post-deploy/run/", view(run_now), name="deployments_deployment_post_deploy_run"),
    ]
