"""The Celery app. Settings come from Django's, under the CELERY_ prefix; queues and routes are here."""

import os

import django
from celery import Celery
from django.apps import apps
from kombu import Queue

from amarise_ops.startup import load_settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amarise_ops.settings")
# Worker and beat load settings here; a bad value ends them with one line, not a traceback.
load_settings_or_exit()

# One worker per queue (`make run`, the README's process table), so an engine tick never waits
# behind a backup or a refresh: a rollback lands within a sampling interval whatever else runs.
DEPLOYMENTS_QUEUE, DATA_QUEUE, DEFAULT_QUEUE = "deployments", "data", "default"
QUEUES = (DEPLOYMENTS_QUEUE, DATA_QUEUE, DEFAULT_QUEUE)
TASK_ROUTES = {
    "deployments.*": {"queue": DEPLOYMENTS_QUEUE},  # engine ticks, reconcile (and switch back)
    # Quick checks that alert stay on default: a long backup must not delay a red RPO.
    "backups.check_rpo": {"queue": DEFAULT_QUEUE},
    "backups.check_rpo_all": {"queue": DEFAULT_QUEUE},
    "backups.*": {"queue": DATA_QUEUE},  # backups, verifies, restore drills
    "refreshes.*": {"queue": DATA_QUEUE},  # staging refreshes and dev resets (restores)
}


class OpsCelery(Celery):
    def _get_backend(self):
        # The django-db result backend imports Django models. A worker or beat has set Django up by now (Celery's
        # Django fixup); `celery call`, `celery result` and `celery purge` have not, and crashed with
        # AppRegistryNotReady. Set it up here, once, before the backend's models load.
        if not apps.ready and not apps.loading:
            django.setup()
        return super()._get_backend()


app = OpsCelery("amarise_ops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = DEFAULT_QUEUE
app.conf.task_queues = tuple(Queue(name) for name in QUEUES)  # a worker without -Q consumes all three
app.conf.task_routes = (TASK_ROUTES,)
app.autodiscover_tasks()
