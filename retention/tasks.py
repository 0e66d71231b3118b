"""Thin tasks: beat's hourly fan-out, and one prune per policy (keyed by its id, on the data queue)."""

from celery import shared_task

from core.task_base import OpsTask, queued_by
from retention import services
from retention.seeds import PRUNE_ALL_TASK


@shared_task(base=OpsTask, name=PRUNE_ALL_TASK, queue="data")
def prune_all() -> int:
    return services.prune_all_enqueue()


@shared_task(base=OpsTask, bind=True, name=services.PRUNE_TASK, queue="data")
def prune(self, policy_id: int) -> int:
    run = services.prune(policy_id=policy_id, started_by=queued_by(self) or "beat")
    return run.removed if run is not None else 0
