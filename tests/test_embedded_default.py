"""`make run` with no settings: SQLite in WAL mode, the filesystem broker and a file cache.

Migrates, seeds and runs a task through a real worker on the filesystem transport,
so the zero-configuration path cannot rot unnoticed.
"""

import os
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import ROOT

ENQUEUE = """
from environments.models import Environment
from environments.tasks import check_environment_health
Environment.objects.filter(key="dev").update(url="{url}")
result = check_environment_health.delay(Environment.objects.get(key="dev").pk)
print(result.get(timeout=60))
print(Environment.objects.get(key="dev").last_health_status)
"""


@pytest.fixture
def embedded_env(tmp_path):
    drop = {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CELERY_TASK_ALWAYS_EAGER"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["VAR_DIR"] = str(tmp_path / "var")
    env["OPS_ENV_FILE"] = str(tmp_path / "no.env")
    return env


def manage(env, *args, timeout=120):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_embedded_default__migrate_seed_and_a_task_through_the_filesystem_broker(embedded_env, upstream):
    manage(embedded_env, "migrate", "--noinput")
    assert "Strategy seeded:" in manage(embedded_env, "seed_strategy")
    database = os.path.join(embedded_env["VAR_DIR"], "ops.sqlite3")
    assert sqlite3.connect(database).execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "amarise_ops", "worker", "--concurrency=1", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=embedded_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        out = manage(embedded_env, "shell", "-c", ENQUEUE.format(url=upstream.url), timeout=90)
    finally:
        worker.terminate()
        log = worker.communicate(timeout=30)[0]
    assert "Connected to filesystem://" in log
    assert out.strip().splitlines()[-2:] == ["dev: up (HTTP 200)", "up"]
    assert upstream.hits == 1
