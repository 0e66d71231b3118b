"""Rollback ticks never wait behind long jobs: the workers `make run` starts, one per queue, from the Procfile."""

import os
import re
import socket
import sys

import pytest

from amarise_ops.celery import QUEUES
from core.tasks import enqueue
from deployments import services
from deployments.choices import DeploymentStatus as S
from deployments.models import Release
from tests.conftest import ROOT, CeleryWorkerProcess, wait_until
from tests.deployments import long_job
from tests.deployments.standins import Behaviour


def procfile_workers():
    """{queue: argv} for each worker line of the Procfile: what `make run` starts."""
    workers = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.startswith("worker"):
            queue = re.search(r"-Q (\S+)", command).group(1)
            workers[queue] = command.split()
    return workers


def test_procfile__a_worker_for_each_queue():
    assert sorted(procfile_workers()) == sorted(QUEUES)


def _without_name_and_pidfile(argv):
    """The Procfile's command, less what must differ in a test run: the node name and the pidfile."""
    kept = []
    for arg in argv:
        if kept and kept[-1] == "-n":
            kept.pop()
        elif not arg.startswith("--pidfile"):
            kept.append(arg)
    return kept


@pytest.fixture
def make_run_workers(celery_worker_process, tmp_path):
    """The Procfile's workers, in place of the tests' all-queues worker (restarted after)."""
    celery_worker_process.stop()
    workers = []
    for queue, argv in procfile_workers().items():
        hostname = f"{queue}-{os.getpid()}@{socket.gethostname()}"
        command = [sys.executable, "-m", *_without_name_and_pidfile(argv), f"--hostname={hostname}",
                   f"--include={long_job.__name__}", "--without-gossip", "--without-mingle"]  # fmt: skip
        log = tmp_path / f"{queue}.log"
        workers.append(CeleryWorkerProcess(celery_worker_process.env, log, command=command, hostname=hostname))
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    try:
        for worker in workers:  # all three start at once, as under honcho
            worker.launch()
        for worker in workers:
            worker.wait_ready()
        yield jobs
    finally:
        (jobs / "finish").touch()  # a warm shutdown waits for running jobs
        for worker in workers:
            if worker.process and worker.process.poll() is None:
                worker.process.terminate()
        for worker in workers:
            worker.stop()
        celery_worker_process.start()


@pytest.mark.worker
def test_data_worker_busy_with_long_jobs__bad_release__rolled_back_within_interval_plus_5s(
    make_run_workers, staging, shoppers, slots
):
    # Given every process of the data worker busy with a long job, and another one queued behind them
    jobs = make_run_workers
    for number in range(3):
        enqueue(long_job.NAME, str(jobs), number)
    wait_until(lambda: len(list(jobs.glob("started-*"))) == 2, what="the data worker running two long jobs")

    # When a release that answers 20% 5xx is deployed
    blue, green = slots
    green.behaviours["v3.0"] = Behaviour(error_fraction=0.2)
    release = Release.objects.create(version="v3.0", ref="release/3.0", ref_kind="branch")
    deployment = services.start_deployment(release=release, environment=staging)

    # Then the engine rolls it back within one sampling interval + 5 s of the breach
    def finished():
        deployment.refresh_from_db()
        return deployment.status in {S.ROLLED_BACK, S.SUCCEEDED, S.FAILED, S.PAUSED}

    wait_until(finished, timeout=90, what="the deployment to finish")
    assert deployment.status == S.ROLLED_BACK
    restored = (deployment.executed_at - deployment.detected_at).total_seconds()
    interval = staging.deployment_policy.sample_interval_seconds
    print(f"\nbreach to traffic restored, data worker busy: {restored:.2f}s (sampling interval {interval}s)")
    assert restored <= interval + 5
    # while the long jobs were still running, and the third still waiting for the data worker
    assert not list(jobs.glob("finished-*")) and not (jobs / "started-2").exists()
