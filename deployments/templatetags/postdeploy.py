"""{% post_deploy deployment user as pd %}: what the deployment page's post-deployment panel shows."""

from django import template

from deployments.choices import ChecklistPhase
from deployments.postdeploy import services
from deployments.postdeploy.checklist import AUTOMATED, ERROR_LOGS

register = template.Library()


@register.simple_tag
def post_deploy(deployment, user):
    checklist = list(deployment.checklist.filter(item__phase=ChecklistPhase.POST).select_related("item", "checked_by"))
    runs = services.latest_runs(deployment)
    return {
        "checklist": checklist,
        "automated": AUTOMATED,
        "error_logs": ERROR_LOGS,
        "runs": runs,
        "awaiting": services.awaiting_decision(deployment),
        "kept": [r for r in runs if r.kept_at],
        "reading": services.latest_reading(deployment),
        "notifications": list(deployment.release_notifications.all()),
        "can_operate": user.has_perm("deployments.operate_deployment"),
        "can_check": user.has_perm("deployments.check_checklist"),
        "succeeded": deployment.status == "succeeded",
    }
