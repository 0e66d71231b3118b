"""Shared fixtures. Tests talk to real PostgreSQL, Redis and a real Celery worker process."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent

# The real pgBackRest-protected cluster: the backups tests, the staging refresh and the browser share it.
pytest_plugins = ["tests.backups.cluster"]


def pytest_configure(config):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine or not getattr(settings, "REDIS_URL", None):
        pytest.exit(
            "Tests run on PostgreSQL and Redis, not the embedded default: use `make test`, "
            "or set DATABASE_URL=postgres://... and REDIS_URL=redis://...",
            returncode=2,
        )
    _flush_by_delete()


KEPT_BY_FLUSH = {"django_content_type", "auth_permission"}


def _flush_by_delete():
    """Empty the tables after a transactional test with DELETE instead of TRUNCATE.

    TRUNCATE of the project's 120 tables costs 0.5-2 s per transactional test (each table gets new files);
    DELETE of the few rows a test wrote costs milliseconds. Same result: every table empty, sequences kept
    (Django's flush does not restart them either). The foreign keys Django creates are deferrable, so the
    order does not matter inside the flush's transaction. Row triggers are off for that transaction
    (session_replication_role), as TRUNCATE never fired them.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if not tables or reset_sequences:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        # Triggers off for the flush's transaction: the append-only audit tables refuse DELETE by trigger.
        head = ["SET CONSTRAINTS ALL DEFERRED", "SET LOCAL session_replication_role = replica"]
        # Content types and permissions stay: post_migrate would make the same rows again under new ids, and a
        # running Celery worker, which caches content type ids, would write rows pointing at deleted ones.
        tables = [t for t in tables if t not in KEPT_BY_FLUSH]
        return head + [f"DELETE FROM {self.quote_name(table)}" for table in tables]  # noqa: S608

    truncate = DatabaseOperations.sql_flush
    DatabaseOperations.sql_flush = sql_flush


def wait_until(predicate, *, timeout=30.0, interval=0.05, what="condition"):
    """Poll `predicate` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def database_url_for(settings_dict):
    user = quote(settings_dict.get("USER") or "postgres")
    password = settings_dict.get("PASSWORD")
    auth = f"{user}:{quote(password)}" if password else user
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{settings_dict['NAME']}"


@pytest.fixture
def make_user(django_user_model):
    """make_user("alice", "flags.change_flagstate", ...): a staff login holding exactly these permissions."""
    from django.contrib.auth.models import Permission

    def make(username, *perms, superuser=False, staff=True, email=None, password=None):
        email = email or f"{username}@amarise.invalid"
        if superuser:
            return django_user_model.objects.create_superuser(username, email, password or f"pw-{username}")
        user = django_user_model.objects.create_user(username, email, password or f"pw-{username}", is_staff=staff)
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        return django_user_model.objects.get(pk=user.pk)  # fresh, so the permission cache is empty

    return make


@pytest.fixture
def superuser(make_user):
    return make_user("ops", superuser=True)


@pytest.fixture
def viewer(make_user):
    """A staff login that may view every model and change nothing."""
    from django.contrib.auth.models import Permission

    user = make_user("viewer")
    user.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def env():
    """env("production"): a seeded environment by key (use with `seeded` or `seeded_tx`)."""
    from environments.public import Environment

    return lambda key: Environment.objects.get(key=key)


@pytest.fixture
def seeded(db):
    from core.seeding import seed_all

    return seed_all()


@pytest.fixture(scope="module")
def seeded_module(django_db_setup, django_db_blocker):
    """Every app's seeds once for a module of in-process tests, rolled back at its end; each test runs in a savepoint.

    Only for modules without transactional tests (they need commits). An app's conftest may seed less.
    """
    from django.db import transaction

    from core.seeding import seed_all

    with django_db_blocker.unblock(), transaction.atomic():
        yield seed_all()
        transaction.set_rollback(True)


@pytest.fixture
def seeded_tx(transactional_db):
    from core.seeding import seed_all

    return seed_all()


class CeleryWorkerProcess:
    """A `celery worker` process; by default one consuming every queue (deployments, data, default)."""

    def __init__(self, env, log_path, *, command=None, hostname=None):
        from amarise_ops.celery import QUEUES

        self.env = env
        self.log_path = log_path
        self.process = None
        self.hostname = hostname or f"test-{os.getpid()}@{socket.gethostname()}"
        self.command = command or [
            sys.executable, "-m", "celery", "-A", "amarise_ops", "worker", "--loglevel=INFO", "--concurrency=2",
            f"--queues={','.join(QUEUES)}", "--without-gossip", "--without-mingle", f"--hostname={self.hostname}",
        ]  # fmt: skip

    def start(self):
        self.launch()
        self.wait_ready()

    def launch(self):
        from amarise_ops.celery import app

        if self.process is None:
            app.control.purge()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self):
        wait_until(self._answers_ping, timeout=60, what=f"the Celery worker (log: {self.log_path})")

    def _answers_ping(self):
        from amarise_ops.celery import app

        if self.process.poll() is not None:
            raise AssertionError(f"Celery worker exited with {self.process.returncode}; log: {self.log_path}")
        return app.control.ping(destination=[self.hostname], timeout=0.5)

    def kill_hard(self):
        """kill -9 the worker and its pool, as a crashed machine would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self._log.closed:
            self._log.close()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` process on the Redis broker, using the test database."""
    from django.db import connection

    env = {
        **os.environ,
        "DATABASE_URL": database_url_for(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    worker = CeleryWorkerProcess(env, tmp_path_factory.mktemp("celery") / "worker.log")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(celery_worker_process, transactional_db):
    """Tasks run in another process, so test data must be committed: these tests are transactional."""
    return celery_worker_process


class Upstream:
    """A tiny HTTP server standing in for a storefront environment; `status` sets what it answers."""

    def __init__(self):
        self.status = 200
        self.hits = 0
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

            def do_GET(self):
                upstream.hits += 1
                body = f"status {upstream.status}".encode()
                self.send_response(upstream.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream():
    server = Upstream()
    yield server
    server.close()
