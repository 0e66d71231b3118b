"""Thin tasks of the post-deployment checklist. Named postdeploy.*, so they run on the `default` queue: they make
HTTP calls to the storefront and to stakeholders, and engine ticks (`deployments`) never wait behind them."""

from celery import shared_task

from core.task_base import OpsTask
from deployments.postdeploy import notify, services

NOTIFY_RETRIES = 4
NOTIFY_RETRY_SECONDS = 60


@shared_task(base=OpsTask, name=services.RUN_TASK)
def run_checks(deployment_id: int, force: bool = False) -> str:
    """One round for one deployment: journeys, performance, status page, stakeholders. Idempotent."""
    return services.run_round(deployment_id, force=force)


@shared_task(base=OpsTask, name="postdeploy.run_due")
def run_due() -> str:
    """Beat, every 5 minutes: a round for each deployment in (or just past) its bake period."""
    ids = services.due_deployment_ids()
    for deployment_id in ids:
        services.enqueue_round(deployment_id)
    return f"{len(ids)} deployment(s) checked" if ids else "nothing in a bake period"


@shared_task(base=OpsTask, bind=True, name=notify.NOTIFY_TASK)
def notify_stakeholders(self, deployment_id: int, channel: str) -> str:
    """One try per run; bounded retries with a fixed delay. A delivery that gives up stays shown as failed."""
    final = self.request.retries >= NOTIFY_RETRIES
    try:
        return notify.deliver_notification(deployment_id=deployment_id, channel=channel, final=final)
    except notify.NotificationFailed as exc:
        if final or exc.permanent:
            return f"gave up after {self.request.retries + 1} attempt(s): {exc}"
        raise self.retry(exc=exc, countdown=NOTIFY_RETRY_SECONDS, max_retries=NOTIFY_RETRIES) from exc


@shared_task(base=OpsTask, name=services.RESOLVE_TASK)
def resolve_journey_alerts(deployment_id: int) -> str:
    """After a rollback or switch back: the release's failing-journey alerts resolve (nothing left to decide)."""
    return services.resolve_journey_alerts(deployment_id)
