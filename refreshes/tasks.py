from celery import shared_task

from core.task_base import OpsTask
from refreshes import services
from refreshes.choices import RunKind
from refreshes.exceptions import RefreshError

STAGING_REFRESH_TASK = "refreshes.start_staging_refresh"
DEV_RESET_TASK = "refreshes.start_dev_reset"


@shared_task(base=OpsTask, name=services.STEP_TASK)
def run_refresh_step(run_id: int, step_name: str) -> str:
    return services.run_step(run_id=run_id, step_name=step_name)


def _start(kind):
    try:
        run = services.start_run(kind=kind, requested_by="beat")
    except RefreshError as exc:
        return f"not started: {exc}"
    return f"started {run}"


@shared_task(base=OpsTask, name=STAGING_REFRESH_TASK)
def start_staging_refresh() -> str:
    return _start(RunKind.STAGING_REFRESH)


@shared_task(base=OpsTask, name=DEV_RESET_TASK)
def start_dev_reset() -> str:
    return _start(RunKind.DEV_RESET)
