"""Start-up stays light: every operator command and worker pays for what Django's setup imports."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ["faker", "pglast", "requests", "boto3", "botocore", "hypothesis", "playwright"]


def test_django_setup__imports_none_of_the_heavy_libraries():
    # Given a fresh interpreter, as `manage.py help`, a cron'd `backup_status` or a Celery worker starts
    script = f"import django, json, sys; django.setup(); print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "amarise_ops.settings"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)

    # Then no library that only one function needs was imported at start-up
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_celery_app__loaded_on_first_use_only__found_by_celery_and_used_by_enqueue():
    # Given a fresh interpreter after django.setup(), as `manage.py help` starts
    script = """
import django, json, sys
django.setup()
before = "amarise_ops.celery" in sys.modules
from celery.app.utils import find_app
found = find_app("amarise_ops")  # what `celery -A amarise_ops worker|beat|call` does
from django.conf import settings
from core import tasks
task = tasks._task("core.warn_expiring_tokens")  # what enqueue() and signature() send through
import amarise_ops
print(json.dumps([before, found.main, found.conf.broker_url == settings.CELERY_BROKER_URL,
                  task.app is found, amarise_ops.celery_app is found, found.conf.task_routes[0]["backups.*"]]))
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "amarise_ops.settings"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    before, main, same_broker, task_bound, exported, route = json.loads(out.stdout.strip().splitlines()[-1])
    # Then start-up did not create the Celery app; the worker's lookup and enqueue both get the console's one
    assert before is False
    assert (main, same_broker, task_bound, exported) == ("amarise_ops", True, True, True)
    assert route == {"queue": "data"}
