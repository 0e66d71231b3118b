"""The backups tests' own fixtures; the real cluster and its repositories are in tests/backups/cluster.py."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.conftest import ROOT, database_url_for, wait_until


class DedicatedWorker:
    """A worker of our own, on a queue of its own, in its own process group: the kill -9 test kills this one."""

    QUEUE = "backups-kill-test"

    def __init__(self, log_path):
        from django.db import connection

        env = {**os.environ, "DATABASE_URL": database_url_for(connection.settings_dict),
               "REDIS_URL": settings.REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "false"}  # fmt: skip
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.log_path = log_path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "amarise_ops", "worker", "--loglevel=INFO", "--concurrency=1",
             "-Q", self.QUEUE, "--without-gossip", "--without-mingle", f"--hostname=backups-kill-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def ready(self):
        from amarise_ops.celery import app

        if self.process.poll() is not None:
            raise AssertionError(f"dedicated worker exited; log: {self.log_path}")
        replies = app.control.ping(timeout=0.5) or []
        return any(f"backups-kill-{os.getpid()}@" in name for reply in replies for name in reply)

    def kill_group(self):
        os.killpg(self.process.pid, 9)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            self.process.wait(timeout=20)
        self.log.close()


@pytest.fixture
def dedicated_worker(transactional_db, tmp_path):
    worker = DedicatedWorker(tmp_path / "dedicated-worker.log")
    wait_until(worker.ready, timeout=60, what="the dedicated worker")
    yield worker
    worker.stop()


def backup_alert(kind):
    """The backup check's alert still active on monitoring's alerting path, or None."""
    from monitoring.public import active_alerts

    return active_alerts(source="backups", labels={"check": kind}).first()
