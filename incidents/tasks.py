from celery import shared_task

from core.task_base import OpsTask
from incidents import conf, services
from incidents.strategy import REMINDER_TASK


@shared_task(base=OpsTask, name="incidents.open_incident_for_rollback")
def open_incident_for_rollback(deployment_id: int) -> str:
    """Idempotent: the deployment is unique on incidents, so a duplicate run finds the one already opened."""
    incident, created = services.open_incident_for_rollback(deployment_id=deployment_id)
    return f"{'opened' if created else 'already open'}: incident #{incident.pk}"


@shared_task(base=OpsTask, bind=True, name="incidents.deliver_notification")
def deliver_notification(self, incident_id: int, event: str, channel: str, action_item_id: int | None = None) -> str:
    """One try per run, logged; bounded retries with a fixed delay. A delivery that gives up only logs."""
    retries = conf.notify_retries()
    attempt = self.request.retries + 1
    final = self.request.retries >= retries
    try:
        return services.deliver(incident_id=incident_id, event=event, channel=channel, attempt=attempt, final=final,
                                action_item_id=action_item_id)  # fmt: skip
    except Exception as exc:
        if final:
            return f"gave up after {attempt} attempts: {exc}"
        raise self.retry(exc=exc, countdown=conf.notify_retry_seconds(), max_retries=retries) from exc


@shared_task(base=OpsTask, name=REMINDER_TASK)
def send_reminders() -> str:
    sent = services.send_reminders()
    return "; ".join(sent) or "nothing due"
