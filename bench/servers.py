"""Real servers and a real load generator for the HTTP benches: gunicorn processes and Debian's `wrk`."""

import atexit
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# wrk's Lua hook: the method, body and bearer token come from the environment; done() prints one JSON line.
WRK_SCRIPT = r"""
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local token = os.getenv("BENCH_TOKEN") or ""
if token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "status_errors": %d, ' ..
    '"socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def console_env(**extra):
    """The console as production runs it (DEBUG off), on plain HTTP for the bench, its logs quiet."""
    var_dir = Path(tempfile.mkdtemp(prefix="ops_bench_var_"))
    atexit.register(shutil.rmtree, var_dir, ignore_errors=True)
    (var_dir / "static").mkdir()
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "VAR_DIR": str(var_dir),
        **extra,
    }


class Gunicorn:
    """`gunicorn <app>` on a free port: sync workers, or gthread with `threads` (keep-alive)."""

    def __init__(self, app, *, env=None, workers=2, threads=0, name=None):
        self.app, self.workers, self.threads = app, workers, threads
        self.env = env or {**os.environ}
        self.port = free_port()
        self.name = name or app

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        command = [sys.executable, "-m", "gunicorn", self.app, "--bind", f"127.0.0.1:{self.port}",
                   "--workers", str(self.workers), "--log-level", "warning"]  # fmt: skip
        if self.threads:
            command += ["--worker-class", "gthread", "--threads", str(self.threads), "--keep-alive", "30"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"gunicorn {self.name} did not start within 60 s")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    socket_errors: int = 0


def wrk_path():
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("bench: wrk is missing; `bash scripts/ensure_services.sh` installs it (apt-get install wrk)")
    return path


class Wrk:
    """`wrk -t2 -c16 -d<seconds>s` with the Lua hook above, one run per call."""

    def __init__(self, *, threads=2, connections=16):
        self.threads, self.connections = threads, connections
        self.dir = tempfile.TemporaryDirectory(prefix="ops_bench_wrk_")
        self.script = Path(self.dir.name) / "bench.lua"
        self.script.write_text(WRK_SCRIPT)
        self.binary = wrk_path()

    def run(self, url, *, seconds, method="GET", body="", token=""):
        env = {**os.environ, "BENCH_METHOD": method, "BENCH_BODY": body, "BENCH_TOKEN": token}
        command = [self.binary, f"-t{self.threads}", f"-c{self.connections}", f"-d{seconds}s", "-s", str(self.script),
                   url]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
        line = next((line for line in done.stdout.splitlines() if line.startswith("BENCH ")), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed on {url}: {done.stderr.strip() or done.stdout.strip()}")
        figures = json.loads(line.removeprefix("BENCH "))
        if figures["status_errors"]:
            raise RuntimeError(f"{method} {url} answered {figures['status_errors']} non-2xx/3xx under load")
        seconds_taken = figures["duration_us"] / 1e6
        return Load(
            figures["requests"] / seconds_taken, figures["p50_us"] / 1000, figures["p99_us"] / 1000,
            figures["socket_errors"],
        )  # fmt: skip
