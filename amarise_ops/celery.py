"""The Celery app. Settings come from Django's, under the CELERY_ prefix."""

import os

from celery import Celery

from amarise_ops.startup import load_settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amarise_ops.settings")
# Worker and beat load settings here; a bad value ends them with one line, not a traceback.
load_settings_or_exit()

app = Celery("amarise_ops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
