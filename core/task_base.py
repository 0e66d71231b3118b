"""The one base class for the console's Celery tasks: bounded retries on transient errors only, bound as the caller."""

import logging

from celery import Task
from django.db import InterfaceError, OperationalError

from core.caller import SYSTEM, acting, current, for_task

logger = logging.getLogger("amarise_ops.tasks")

TRANSIENT_ERRORS = (ConnectionError, TimeoutError, OperationalError, InterfaceError)
QUEUED_BY = "ops_queued_by"  # a message header: who queued the task, for the audit log's label


def stamp_queued_by(headers=None, **kwargs):
    """before_task_publish: carry the current caller's label to the worker (connected by core's AppConfig)."""
    caller = current()
    if headers is not None and caller is not SYSTEM:
        headers.setdefault(QUEUED_BY, caller.label[:150])


def queued_by(task) -> str:
    caller = current()
    if caller is not SYSTEM:  # run eagerly, where it was queued
        return caller.label
    return str(getattr(task.request, QUEUED_BY, None) or "")


class OpsTask(Task):
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 120
    retry_jitter = True
    max_retries = 5
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args, **kwargs):
        # Who is acting, for the audit log: the task itself (a worker runs it, whoever queued it).
        with acting(for_task(self.name, queued_by=queued_by(self))):
            return super().__call__(*args, **kwargs)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        logger.error("task %s[%s] failed: %s", self.name, task_id, exc)
