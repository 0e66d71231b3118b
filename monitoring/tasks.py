from celery import shared_task
from django.conf import settings

from core.task_base import OpsTask
from monitoring import alerts, services, strategy
from monitoring.exceptions import EngineUnavailable


@shared_task(base=OpsTask, name=strategy.APPLY_TASK, autoretry_for=(*OpsTask.autoretry_for, EngineUnavailable))
def apply_configuration(force: bool = True) -> str:
    """Regenerate, check and write the engines' configuration, then reload them. Idempotent. Beat runs it
    unforced every few minutes, so changes made outside this app (an environment's alerting) reach the engines."""
    return services.apply_configuration(force=force)


@shared_task(base=OpsTask, bind=True, name=strategy.NOTIFY_TASK)
def deliver_alert_notification(self, notification_id: int) -> str:
    """One try per run, recorded on the row; bounded retries with a fixed delay; the last failure stays shown."""
    retries = settings.OPS_MONITORING_NOTIFY_RETRIES
    final = self.request.retries >= retries
    try:
        return alerts.deliver(notification_id=notification_id, final=final)
    except Exception as exc:
        if final:
            return f"gave up after {self.request.retries + 1} attempts: {exc}"
        raise self.retry(exc=exc, countdown=settings.OPS_MONITORING_NOTIFY_RETRY_SECONDS, max_retries=retries) from exc


@shared_task(base=OpsTask, name=strategy.SILENCE_SYNC_TASK, autoretry_for=(*OpsTask.autoretry_for, EngineUnavailable))
def sync_silences() -> str:
    return services.sync_silences()
