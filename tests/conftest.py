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
    _fast_password_hashing()
    _discover_admin()


def _discover_admin():
    """The admin's modules load with the URLconf (core.apps.OpsAdminConfig). Tests that read `admin.site` without
    a request first (the generic permission and form checks) see every ModelAdmin, as a web process does."""
    from django.contrib import admin

    admin.autodiscover()


def _fast_password_hashing():
    """Hash the tests' passwords with MD5: PBKDF2 at full strength costs ~0.3 s per user made, and no test is about
    hashing. Django's own hashers stay listed after it, so a password a subprocess (ensure_admin) set still checks.
    """
    from django.conf import global_settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *global_settings.PASSWORD_HASHERS]


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

    # After the DELETE flush, post_migrate would re-create the content types and permissions: they were kept, so it only
    # reads them all again (~1 s per transactional test). The project has no post_migrate receiver of its own.
    from django.core.management.commands.flush import Command as Flush

    def handle(self, **options):
        if not options.get("reset_sequences", True):  # the DELETE flush above; TRUNCATE needs post_migrate after it
            options["inhibit_post_migrate"] = True
        return flush_handle(self, **options)

    flush_handle = Flush.handle
    Flush.handle = handle


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


SHARED_SEEDING = pytest.StashKey[set]()
OPEN_SEEDING = pytest.StashKey[list]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Let a module's rolled-back tests that take `seeded` share one seeding (see `_module_seeding`).

    Runs after pytest-django's ordering (rolled-back database tests, then committing ones, then the rest). Within each
    module's run of rolled-back database tests, those taking `seeded` move to the end, in their order, so the seeding
    opened for the first of them (module-scoped) is not seen by a test that does not take it, and is rolled back
    after the last of them (`pytest_runtest_teardown`), before the module's committing tests.
    """
    shared = set()
    position = 0
    while position < len(items):
        module = _module_name(items[position])
        run_end = position
        while run_end < len(items) and _module_name(items[run_end]) == module and _rolled_back(items[run_end]):
            run_end += 1
        if run_end == position:
            position += 1
            continue
        run = items[position:run_end]
        seeding = [item for item in run if "_module_seeding" in item.fixturenames]
        if len(seeding) >= 2 and not any(_module_database_fixture(item) for item in run):
            items[position:run_end] = [item for item in run if item not in seeding] + seeding
            shared.update(item.nodeid for item in seeding)
        position = run_end
    config.stash[SHARED_SEEDING] = shared
    config.stash[OPEN_SEEDING] = []


def _module_name(item):
    return item.module.__name__ if getattr(item, "module", None) is not None else item.nodeid


def _rolled_back(item):
    return _uses_db(item) and not _commits(item)


def _uses_db(item):
    return "db" in item.fixturenames or item.get_closest_marker("django_db") is not None


def _commits(item):
    marker = item.get_closest_marker("django_db")
    transaction = marker is not None and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
    return bool(transaction) or "transactional_db" in item.fixturenames or "live_server" in item.fixturenames


OURS_OR_PYTEST_DJANGOS = {"_module_seeding", "_django_setup_unittest"}


def _module_database_fixture(item):
    """A module's own seeded world (seeded_module, world...): its tests are not ours to seed."""
    definitions = item._fixtureinfo.name2fixturedefs
    return any(
        definition.scope in ("module", "class", "package") and "django_db_blocker" in definition.argnames
        for name in item.fixturenames
        if name not in OURS_OR_PYTEST_DJANGOS
        for definition in definitions.get(name) or ()
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Roll the shared seeding back after the last test sharing it, before whatever runs next in the module."""
    try:
        return (yield)
    finally:
        shared = item.config.stash.get(SHARED_SEEDING, set())
        if nextitem is None or nextitem.nodeid not in shared or _module_name(nextitem) != _module_name(item):
            for close in item.config.stash.get(OPEN_SEEDING, []):
                close()


class _SharedSeeding:
    """Every app's seeds in a transaction left open across the tests sharing it; `close` rolls it back (once)."""

    def __init__(self, blocker):
        from django.db import transaction

        self.blocker = blocker
        self.atomic = transaction.atomic()
        with blocker.unblock():
            self.atomic.__enter__()
            try:
                self.report = SEED_SNAPSHOT.seed()
            except BaseException:
                self.atomic.__exit__(*sys.exc_info())
                raise
        self.open = True

    def close(self):
        if not self.open:
            return
        from django.db import transaction

        self.open = False
        with self.blocker.unblock():
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)


@pytest.fixture(scope="module")
def _module_seeding(request):
    """Every app's seeds once for a module's rolled-back tests that take `seeded` (listed by the collection hook).

    seed_all costs ~2 s (3,000 queries) and most tests taking `seeded` are rolled back: seeding once per module
    instead of per test saves minutes. Each test still starts from exactly the seeded state: it runs in a savepoint
    (pytest-django's `db`) inside this transaction, rolled back at the test's end, and this one after the last test
    sharing it. Module-scoped so that it is entered before any of the test's own fixtures (`db` among them).
    """
    item = getattr(request, "_pyfuncitem", None)
    if item is None or item.nodeid not in request.config.stash.get(SHARED_SEEDING, set()):
        yield None
        return
    request.getfixturevalue("django_db_setup")
    seeding = _SharedSeeding(request.getfixturevalue("django_db_blocker"))
    opened = request.config.stash[OPEN_SEEDING]
    opened.append(seeding.close)
    try:
        yield seeding
    finally:
        seeding.close()
        opened.remove(seeding.close)


@pytest.fixture
def seeded(request, _module_seeding, db):
    """Every app's seeds: shared with the module's other rolled-back tests where it can (`_module_seeding`), else
    for this test."""
    if (
        _module_seeding is not None
        and _module_seeding.open
        and request.node.nodeid in request.config.stash.get(SHARED_SEEDING, set())
    ):
        return _module_seeding.report
    return SEED_SNAPSHOT.seed()


@pytest.fixture(scope="module")
def seeded_module(django_db_setup, django_db_blocker):
    """Every app's seeds once for a module of in-process tests, rolled back at its end; each test runs in a savepoint.

    Only for modules without transactional tests (they need commits). An app's conftest may seed less.
    """
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        yield SEED_SNAPSHOT.seed()
        transaction.set_rollback(True)


@pytest.fixture
def seeded_tx(transactional_db):
    """Every app's seeds, committed (`SeedSnapshot`)."""
    return SEED_SNAPSHOT.seed()


# Celery's task results: the session's worker may still be writing a result of the previous test's tasks after its
# flush. seed_all neither reads nor writes them, so they are neither compared nor copied.
NOT_SEEDS = {f"django_celery_results_{model}" for model in ("taskresult", "groupresult", "chordcounter")}


class SeedSnapshot:
    """seed_all's result on an empty database: the rows of every table, its report, its on-commit work.

    The first seed of the session runs seed_all for real and keeps the rows it wrote (COPY, committed or not); later
    ones get those rows back by COPY (~0.1 s instead of ~2.5 s) where nothing seed_all reads differs: the database is
    empty again (in the caller's transaction) and the settings and process environment are the same. Else seed_all.

    What seed_all leaves is a function of the (empty) database, the settings and the process environment, plus the
    time: timestamps are shifted by the time since the snapshot was taken, as if seeded now. Its only work outside
    the database is on commit: each environment's flags document rewritten in Redis; a restore does it too.
    Sequences are not reset (the DELETE flush keeps them): restored ids are below every value they hand out next.
    """

    def __init__(self):
        self.taken = {}  # fingerprint: (report, {table: copied rows}, {table: timestamp columns}, time taken)

    def seed(self):
        import copy

        from core.seeding import seed_all

        tables = self._tables()
        if not self._empty(tables):
            return seed_all()
        fingerprint = self._fingerprint()
        if fingerprint in self.taken:
            return copy.deepcopy(self._restore(*self.taken[fingerprint]))
        started = time.time()
        report = seed_all()
        self.taken[fingerprint] = (copy.deepcopy(report), *self._copy(tables), started)
        return report

    @staticmethod
    def _tables():
        from django.db import connection

        names = connection.introspection.django_table_names(only_existing=True, include_views=False)
        return sorted(set(names) - KEPT_BY_FLUSH - NOT_SEEDS)

    @staticmethod
    def _empty(tables):
        from django.db import connection

        qn = connection.ops.quote_name
        probes = " OR ".join(f"EXISTS (SELECT 1 FROM {qn(table)})" for table in tables)  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {probes}")  # noqa: S608
            return not cursor.fetchone()[0]

    @staticmethod
    def _fingerprint():
        names = sorted(name for name in dir(settings) if name.isupper())
        environment = tuple(
            sorted((name, value) for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST")
        )
        return repr([(name, repr(getattr(settings, name))) for name in names]), environment

    @staticmethod
    def _copy(tables):
        from django.db import connection

        qn = connection.ops.quote_name
        rows, stamps = {}, {}
        with connection.cursor() as cursor:
            for table in tables:
                with cursor.cursor.copy(f"COPY {qn(table)} TO STDOUT") as copy:
                    data = b"".join(bytes(block) for block in copy)
                if data:
                    rows[table] = data
            cursor.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = ANY(%s) AND data_type LIKE 'timestamp%%'",
                [list(rows)],
            )
            for table, column in cursor.fetchall():
                stamps.setdefault(table, []).append(column)
        return rows, stamps

    @staticmethod
    def _restore(report, rows, stamps, taken):
        from django.db import connection, transaction

        from environments.public import Environment
        from flags import documents

        qn = connection.ops.quote_name
        with transaction.atomic(), connection.cursor() as cursor:
            # Triggers off, as for the flush: the rows are seed_all's own (its audit entries, history rows) already.
            # Back on right after: SET LOCAL lasts to the end of the outermost transaction (a module's shared seeding).
            cursor.execute("SELECT current_setting('session_replication_role')")
            role = cursor.fetchone()[0]
            cursor.execute("SET LOCAL session_replication_role = replica")
            try:
                for table, data in rows.items():
                    with cursor.cursor.copy(f"COPY {qn(table)} FROM STDIN") as copy:
                        copy.write(data)
                elapsed = time.time() - taken
                for table, columns in stamps.items():
                    shift = ", ".join(f"{qn(c)} = {qn(c)} + make_interval(secs => %s)" for c in columns)
                    cursor.execute(f"UPDATE {qn(table)} SET {shift}", [elapsed] * len(columns))  # noqa: S608
            finally:
                cursor.execute("SELECT set_config('session_replication_role', %s, true)", [role])
            # As seed_all's commit does (no effect where the caller's transaction is rolled back, as for seed_all).
            for key in Environment.objects.values_list("key", flat=True):
                documents.refresh_on_commit(key)
        return report


SEED_SNAPSHOT = SeedSnapshot()


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
