"""Thin tasks: ids in, one service call, a short result string. Never a value in arguments or results."""

from celery import shared_task

from core.task_base import OpsTask
from secrets_registry import services, strategy


@shared_task(base=OpsTask, name=strategy.CHECK_TASK)
def check_all_secrets() -> str:
    return services.check_secrets().summary()[:500]


@shared_task(base=OpsTask, name=services.STEP_TASK)
def rotation_step(run_id: int) -> str:
    run = services.advance_rotation(run_id=run_id)
    if run is None:
        return f"rotation #{run_id}: busy elsewhere or gone"
    return f"rotation #{run.pk}: {run.status}, next step {run.step}"


@shared_task(base=OpsTask, name=strategy.ROTATE_DUE_TASK)
def rotate_due_secrets() -> str:
    runs = services.rotate_due()
    return f"{len(runs)} rotations requested" + (f": {', '.join(f'#{r.pk}' for r in runs)}" if runs else "")


@shared_task(base=OpsTask, name=strategy.RESUME_TASK)
def resume_stalled_rotations() -> str:
    ids = services.resume_stalled_rotations()
    return f"resumed {len(ids)}"
