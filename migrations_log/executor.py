"""Apply pending migrations to an environment's database: each in its own transaction, under the
environment's lock_timeout and statement_timeout, timed, with its output recorded."""

import os
import time
import zlib

import psycopg
from django.db import IntegrityError
from django.utils import timezone
from psycopg import sql

from deployments.drivers.executors import ExecutionResult
from migrations_log.choices import RunActor, RunStatus
from migrations_log.models import MigrationRun, MigrationTarget
from migrations_log.services import pending
from migrations_log.sql import analyse

# The target database's own ledger: a migration and its ledger row commit together, so a crash between
# the target's commit and the console's record cannot run a migration twice.
LEDGER = "amarise_migrations_log"
_LEDGER = sql.Identifier(LEDGER)
_RECORD = sql.SQL("INSERT INTO {} (identifier, sha256) VALUES (%s, %s)").format(_LEDGER)


class TargetUnavailable(Exception):
    pass


def database_url(target: MigrationTarget) -> str:
    url = os.environ.get(target.database_url_variable, "")
    if not url:
        raise TargetUnavailable(
            f"{target.database_url_variable} is not set in the worker's environment: it holds {target.environment}'s "
            "database URL."
        )
    return url


def _fail_interrupted(migration, environment):
    # We hold the target's advisory lock, so a run still marked running was cut short by a crash.
    MigrationRun.objects.filter(migration=migration, environment=environment, status=RunStatus.RUNNING).update(
        status=RunStatus.FAILED, output="Interrupted (the worker stopped before recording the end)."
    )


def apply_pending(*, release, environment, deployment=None, user=None) -> ExecutionResult:
    try:
        target = environment.migration_target
    except MigrationTarget.DoesNotExist:
        return ExecutionResult(False, f"{environment} has no migration target (database URL variable).")
    waiting = pending(release=release, environment=environment)
    if not waiting:
        return ExecutionResult(True, f"No pending migrations for {release} on {environment}.")
    try:
        url = database_url(target)
        conn = psycopg.connect(url, autocommit=True, application_name="amarise-ops migrations")
    except (TargetUnavailable, psycopg.Error) as exc:
        return ExecutionResult(False, f"Cannot reach {environment}'s database: {str(exc).strip()[:500]}")
    summary = []
    with conn:
        notices = []
        conn.add_notice_handler(lambda diag: notices.append(f"{diag.severity}: {diag.message_primary}"))
        conn.execute("SELECT pg_advisory_lock(%s)", [zlib.crc32(LEDGER.encode())])
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (identifier text PRIMARY KEY, sha256 text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(_LEDGER)
        )
        in_ledger = dict(conn.execute(sql.SQL("SELECT identifier, sha256 FROM {}").format(_LEDGER)).fetchall())
        for migration in pending(release=release, environment=environment):
            _fail_interrupted(migration, environment)
            run_kwargs = {
                "migration": migration,
                "environment": environment,
                "actor": RunActor.DEPLOYMENT if deployment else RunActor.PERSON,
                "deployment": deployment,
                "user": user,
            }
            if migration.identifier in in_ledger:
                MigrationRun.objects.create(
                    **run_kwargs,
                    status=RunStatus.APPLIED,
                    started_at=timezone.now(),
                    duration_seconds=0,
                    output="Already in the database's ledger (applied before the console recorded it).",
                )
                summary.append(f"{migration}: already applied")
                continue
            try:
                run = MigrationRun.objects.create(**run_kwargs, status=RunStatus.RUNNING, started_at=timezone.now())
            except IntegrityError:
                summary.append(f"{migration}: another run is in progress")
                return ExecutionResult(False, "\n".join(summary))
            notices.clear()
            ok, output, seconds = _run_one(conn, target, migration, notices)
            run.status = RunStatus.APPLIED if ok else RunStatus.FAILED
            run.duration_seconds = seconds
            run.output = output[-20000:]
            run.save(update_fields=["status", "duration_seconds", "output"])
            summary.append(f"{migration}: {run.status} in {seconds:.3f}s" + ("" if ok else f"\n{output[-2000:]}"))
            if not ok:
                summary.append("Stopped: the migrations after it were not run.")
                return ExecutionResult(False, "\n".join(summary))
        conn.execute("SELECT pg_advisory_unlock(%s)", [zlib.crc32(LEDGER.encode())])
    return ExecutionResult(True, "\n".join(summary))


def _run_one(conn, target, migration, notices):
    analysis = analyse(migration.sql, filename=migration.filename)
    lines = []
    started = time.perf_counter()
    statement = None
    try:
        if migration.transactional:
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = {int(target.lock_timeout_ms)}")
                conn.execute(f"SET LOCAL statement_timeout = {int(target.statement_timeout_ms)}")
                for statement in analysis.statements:
                    lines.append(_execute(conn, statement))
                conn.execute(_RECORD, [migration.identifier, migration.sha256])
        else:
            # CREATE INDEX CONCURRENTLY and the like refuse a transaction block: run on their own, in autocommit.
            conn.execute(f"SET lock_timeout = {int(target.lock_timeout_ms)}")
            conn.execute(f"SET statement_timeout = {int(target.statement_timeout_ms)}")
            try:
                for statement in analysis.statements:
                    lines.append(_execute(conn, statement))
                conn.execute(_RECORD, [migration.identifier, migration.sha256])
            finally:
                conn.execute("RESET lock_timeout")
                conn.execute("RESET statement_timeout")
    except psycopg.Error as exc:
        seconds = time.perf_counter() - started
        where = f"{migration.filename}:{statement.line}" if statement else migration.filename
        rolled = " Rolled back: nothing of it applied." if migration.transactional else ""
        lines += notices
        lines.append(f"ERROR at {where}: {str(exc).strip()}.{rolled}")
        return False, "\n".join(lines), seconds
    seconds = time.perf_counter() - started
    return True, "\n".join(lines + notices), seconds


def _execute(conn, statement):
    started = time.perf_counter()
    cursor = conn.execute(statement.sql.encode())
    return f"line {statement.line}: {cursor.statusmessage} ({time.perf_counter() - started:.3f}s)"
