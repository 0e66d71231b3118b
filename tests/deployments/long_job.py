"""A stand-in for a long data job (a backup of a large database), loaded into the test's workers with --include.

Named under backups., it is routed as every backup is: to the data queue.
"""

import time
from pathlib import Path

from celery import shared_task

from core.task_base import OpsTask

NAME = "backups.stand_in_long_backup"


@shared_task(base=OpsTask, name=NAME)
def stand_in_long_backup(workdir: str, number: int) -> str:
    """Marks that it started, then runs until the test lets it finish (or two minutes, a backup's worth)."""
    work = Path(workdir)
    (work / f"started-{number}").touch()
    deadline = time.monotonic() + 120
    while not (work / "finish").exists() and time.monotonic() < deadline:
        time.sleep(0.2)  # the job's own work, not a test's wait
    (work / f"finished-{number}").touch()
    return f"long job {number} done"
