"""`make run` stops whole, however it is stopped: Ctrl-C, `kill` of make, a closed terminal.

Each case starts the real `make run` (embedded default, its own VAR_DIR and port), waits for web,
worker and beat, stops it the way a person would, and then finds none of its processes left.
"""

import os
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, wait_until


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid):
    """Every process whose ancestry reaches `pid`, read from /proc (honcho's children live in other sessions)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        children = {p for p, parent in parents.items() if parent in frontier} - found
        found |= children
        frontier = children
    return found


def _alive(pids):
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _cmdlines(pids):
    lines = []
    for pid in pids:
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            pass
    return lines


@pytest.fixture(scope="module")
def run_env(tmp_path_factory):
    drop = {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CELERY_TASK_ALWAYS_EAGER"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST")}
    var = tmp_path_factory.mktemp("make-run")
    env.update(VAR_DIR=str(var / "var"), OPS_ENV_FILE=str(var / "no.env"), OPS_ADMIN_PASSWORD="pw-make-run-test")
    return env


def _start(env):
    port = _free_port()
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run"], cwd=ROOT, env={**env, "OPS_RUN_PORT": str(port)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip

    def serving():
        assert make.poll() is None, f"make run exited with {make.returncode}"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
        except OSError:
            return False
        lines = " ".join(_cmdlines(_descendants(make.pid)))
        return "worker" in lines and " beat" in lines

    wait_until(serving, timeout=180, interval=0.5, what="make run to serve with its worker and beat")
    return make, _descendants(make.pid)


@pytest.mark.parametrize(
    "how",
    [
        pytest.param(lambda make: os.killpg(make.pid, signal.SIGINT), id="ctrl-c"),
        pytest.param(lambda make: os.kill(make.pid, signal.SIGTERM), id="kill-make"),
        pytest.param(lambda make: os.killpg(make.pid, signal.SIGHUP), id="terminal-closed"),
    ],
)
def test_make_run__stopped_any_way__leaves_no_process_behind(run_env, how):
    make, processes = _start(run_env)
    assert len(processes) >= 4, _cmdlines(processes)  # supervisor, honcho, web, worker, beat (and their shells)
    how(make)
    make.wait(timeout=60)
    wait_until(lambda: not _alive(processes), timeout=60, what="every process of make run to stop")
    # The next `make run` starts clean: no pidfile of a live beat or worker is left to refuse it.
    for name in ("beat.pid", "worker-deployments.pid", "worker-data.pid", "worker-default.pid"):
        pidfile = Path(run_env["VAR_DIR"]) / name
        assert not pidfile.exists() or not _alive({int(pidfile.read_text().strip() or 0)})
