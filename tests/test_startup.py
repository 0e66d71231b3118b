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
