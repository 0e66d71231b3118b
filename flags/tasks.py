from celery import shared_task

from core.task_base import OpsTask
from flags import services
from flags.strategy import APPLY_SCHEDULED_TASK


@shared_task(base=OpsTask, name=APPLY_SCHEDULED_TASK)
def apply_due_scheduled_changes() -> str:
    """Beat's poll: fan out one apply task per due scheduled change (each claims its row, so repeats are safe)."""
    ids = services.queue_due_scheduled_changes()
    return f"enqueued {len(ids)} scheduled changes"


@shared_task(base=OpsTask, name="flags.apply_scheduled_change")
def apply_scheduled_change(scheduled_change_id: int) -> str:
    return services.apply_scheduled_change(scheduled_change_id=scheduled_change_id)
