"""Flags benchmarks: the cached flag document under gunicorn, and a warm FlagClient lookup.

1. Requests per second of GET /api/flags/production/ on a warm cache, against a minimal Django view
   returning a constant JSON body, both served by the same gunicorn in the same run (goal: ratio ≥ 0.8).
2. A warm FlagClient.is_enabled call against a plain dict lookup (goal: under 10x), in nanoseconds.

The bench makes its own database (`<name>_flags_bench` next to DATABASE_URL's on PostgreSQL, or a
temporary SQLite file), migrates and seeds it, and drops it afterwards. gunicorn loads this module as
its WSGI app, which adds the constant baseline view in front of the console's own URLs.
"""

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTANT_PATH = "/bench/constant/"
DOCUMENT_PATH = "/api/flags/production/"
WORKERS = 2
CLIENT_THREADS = 4
ROUND_SECONDS = 2.0
ROUNDS = 3

# --- the WSGI app gunicorn serves ------------------------------------------------------------------------

_handler = None


def application(environ, start_response):
    global _handler
    if _handler is None:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amarise_ops.settings")
        import django
        from django.conf import settings

        django.setup()
        settings.ROOT_URLCONF = __name__  # the constant view, then every console URL
        from django.core.handlers.wsgi import WSGIHandler

        _handler = WSGIHandler()
    return _handler(environ, start_response)


def __getattr__(name):
    # `urlpatterns` is built on first use, so gunicorn can import this module before Django is set up.
    if name == "urlpatterns":
        from django.http import JsonResponse
        from django.urls import include, path

        def constant(request):
            return JsonResponse({"environment": "bench", "flags": {"constant": True}, "version": "0"})

        return [path(CONSTANT_PATH.strip("/") + "/", constant), path("", include("amarise_ops.urls"))]
    raise AttributeError(name)


# --- the run --------------------------------------------------------------------------------------------


def run():
    from bench.harness import best_of, ratio_line

    lines = []
    with BenchDatabase() as database_url, Gunicorn(database_url) as server:
        for path in (DOCUMENT_PATH, CONSTANT_PATH):  # warm both: the document lands in the shared cache
            status, _ = _get(server.port, path)
            assert status == 200, f"{path} answered {status}"
        document_rps, constant_rps = 0.0, 0.0
        for _ in range(ROUNDS):  # interleaved rounds, best of each: noise hits both sides alike
            document_rps = max(document_rps, _requests_per_second(server.port, DOCUMENT_PATH))
            constant_rps = max(constant_rps, _requests_per_second(server.port, CONSTANT_PATH))
        ratio = document_rps / constant_rps if constant_rps else 0.0
        lines.append(
            f"GET {DOCUMENT_PATH} (warm cache, gunicorn {WORKERS} workers, {CLIENT_THREADS} clients): "
            f"{document_rps:.0f} req/s vs constant JSON view {constant_rps:.0f} req/s = {ratio:.2f} (goal ≥ 0.8)"
        )

        from flags.client import FlagClient

        client = FlagClient(f"http://127.0.0.1:{server.port}", "production", ttl=3600)
        assert client.is_enabled("checkoutEnabled") is True, "the client could not read the bench server"
        plain = dict(client.all())
        number = 200_000
        client_time = best_of(lambda: client.is_enabled("checkoutEnabled"), repeat=5, number=number)
        dict_time = best_of(lambda: plain.get("checkoutEnabled", False), repeat=5, number=number)
        lines.append(
            ratio_line(
                "warm FlagClient.is_enabled vs dict lookup", client_time * 1e9, dict_time * 1e9, unit="ns", goal="< 10x"
            )  # fmt: skip
        )
        lines.append(f"warm FlagClient.is_enabled: {client_time * 1e9:.0f} ns per call")
    _forget_bench_documents()
    return lines


def _get(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _requests_per_second(port, path):
    stop = time.perf_counter() + ROUND_SECONDS
    counts = [0] * CLIENT_THREADS
    failures = []

    def worker(i):
        while time.perf_counter() < stop:
            status, _ = _get(port, path)  # gunicorn's sync workers close each connection: same cost both sides
            if status != 200:
                failures.append(status)
                return
            counts[i] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENT_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{path} answered {failures[0]} under load")
    return sum(counts) / (time.perf_counter() - started)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _forget_bench_documents():
    # The bench's documents came from its own database: do not leave them for a console sharing this Redis.
    from django.core.cache import cache

    from flags.documents import document_key

    try:
        cache.delete_many([document_key(k) for k in ("local", "dev", "staging", "production")])
    except Exception:  # noqa: S110 - no cache, nothing left behind
        pass


class BenchDatabase:
    """A fresh, migrated and seeded database for the bench, dropped on exit."""

    def __enter__(self):
        from django.db import connection

        settings_dict = connection.settings_dict
        self.postgres = "postgresql" in settings_dict["ENGINE"]
        if self.postgres:
            from tests.conftest import database_url_for

            self.name = f"{settings_dict['NAME']}_flags_bench"
            self.admin = {**settings_dict, "NAME": "postgres"}
            self._execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            self._execute(f'CREATE DATABASE "{self.name}"')
            self.url = database_url_for({**settings_dict, "NAME": self.name})
        else:
            self.tmp = tempfile.TemporaryDirectory(prefix="flags_bench_")
            self.url = f"sqlite:///{self.tmp.name}/bench.sqlite3"
        env = {**os.environ, "DATABASE_URL": self.url}
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        seed = (
            "from core.seeding import SeedReport; from environments import seeds as e; from flags import seeds as f; "
            "r = SeedReport(); e.seed(r); f.seed(r)"
        )
        subprocess.run([sys.executable, "manage.py", "shell", "-c", seed], cwd=ROOT, env=env, check=True)
        return self.url

    def _execute(self, sql):
        import psycopg

        params = {"host": self.admin.get("HOST") or "127.0.0.1", "port": self.admin.get("PORT") or 5432,
                  "user": self.admin.get("USER") or "postgres", "dbname": "postgres"}  # fmt: skip
        if self.admin.get("PASSWORD"):
            params["password"] = self.admin["PASSWORD"]
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute(sql)

    def __exit__(self, *exc):
        if self.postgres:
            self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            self.tmp.cleanup()


class Gunicorn:
    def __init__(self, database_url):
        self.port = _free_port()
        self.env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "bench.bench_flags:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(WORKERS), "--log-level", "warning"],
            cwd=ROOT, env=self.env,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start within 30 s")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
