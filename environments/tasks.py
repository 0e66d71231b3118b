from celery import shared_task

from core.task_base import OpsTask
from environments import services
from environments.strategy import HEALTH_CHECK_TASK


@shared_task(base=OpsTask, name=HEALTH_CHECK_TASK)
def check_environment_health(environment_id: int | None = None) -> str:
    """Probe one environment, or with no id fan out one probe per enabled environment."""
    if environment_id is None:
        ids, _ = services.queue_health_checks()
        return f"enqueued {len(ids)} probes"
    check = services.probe_environment(environment_id)
    return f"{check.environment.key}: {check.status} ({check.detail})"
