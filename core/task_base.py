"""The one base class for the console's Celery tasks: bounded retries on transient errors only."""

import logging

from celery import Task
from django.db import InterfaceError, OperationalError

logger = logging.getLogger("amarise_ops.tasks")

TRANSIENT_ERRORS = (ConnectionError, TimeoutError, OperationalError, InterfaceError)


class OpsTask(Task):
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 120
    retry_jitter = True
    max_retries = 5
    acks_late = True
    reject_on_worker_lost = True

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        logger.error("task %s[%s] failed: %s", self.name, task_id, exc)
