"""core.tasks.enqueue finds a task by its registered name, also in a process that never imported its module."""

import os
import subprocess
import sys

import pytest

from core.tasks import _task
from tests.conftest import ROOT


def test_enqueue__fresh_process_without_tasks_imported__finds_the_task_by_name():
    # The web process: Django set up, no tasks module imported yet (the worker imports them all at start).
    code = (
        "import sys, django; django.setup()\n"
        "assert 'incidents.tasks' not in sys.modules\n"
        "from core.tasks import _task\n"
        "print(_task('incidents.deliver_notification').name)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy(), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "incidents.deliver_notification"


def test_enqueue__unknown_name__clear_error():
    with pytest.raises(LookupError, match="No Celery task is registered as 'incidents.no_such_task'"):
        _task("incidents.no_such_task")


def test_signature__fresh_process_without_tasks_imported__is_bound_to_the_registered_task():
    # A chain built in the web process (the staging refresh's steps) must find its task too.
    code = (
        "import sys, django; django.setup()\n"
        "assert 'refreshes.tasks' not in sys.modules\n"
        "from core.tasks import signature\n"
        "step = signature('refreshes.run_refresh_step', 7, 'copy')\n"
        "print(step.type.name, step.args, step.immutable)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy(), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "refreshes.run_refresh_step (7, 'copy') True"
