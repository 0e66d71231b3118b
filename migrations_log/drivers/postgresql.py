"""PostgreSQL: each migration in its own transaction (or in autocommit when it must be), under the
target's lock_timeout and statement_timeout, timed, with its output and notices recorded."""

import time
import zlib

import psycopg
from psycopg import sql

from migrations_log.drivers.base import MigrationTargetDriver, TargetError
from migrations_log.sql import analyse

# The target database's own ledger: a migration and its ledger row commit together, so a crash between
# the target's commit and the console's record cannot run a migration twice. It lives in the console's own
# schema, amarise_ops, apart from the storefront's tables (the staging refresh keeps that schema as it is).
LEDGER_SCHEMA = "amarise_ops"
LEDGER = "amarise_migrations_log"
_LEDGER = sql.Identifier(LEDGER_SCHEMA, LEDGER)
_OLD_LEDGER = sql.Identifier("public", LEDGER)  # where it was before issue 20
_RECORD = sql.SQL("INSERT INTO {} (identifier, sha256) VALUES (%s, %s)").format(_LEDGER)
_LOCK_KEY = zlib.crc32(LEDGER.encode())


def ensure_ledger(conn):
    """Create amarise_ops.amarise_migrations_log, moving a public.amarise_migrations_log of before into it.

    Idempotent, and safe if both exist (a half-done move, or an old console writing again): the old rows are copied
    across (those the new ledger lacks) and the old table is dropped. Runs under the advisory lock.
    """
    with conn.transaction():
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(LEDGER_SCHEMA)))
        old = conn.execute("SELECT to_regclass(%s)", [f"public.{LEDGER}"]).fetchone()[0]
        new = conn.execute("SELECT to_regclass(%s)", [f"{LEDGER_SCHEMA}.{LEDGER}"]).fetchone()[0]
        if old is not None and new is None:
            conn.execute(sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(_OLD_LEDGER, sql.Identifier(LEDGER_SCHEMA)))
            return
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (identifier text PRIMARY KEY, sha256 text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(_LEDGER)
        )
        if old is not None:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (identifier, sha256, applied_at) SELECT identifier, sha256, applied_at FROM {} "
                    "ON CONFLICT (identifier) DO NOTHING"
                ).format(_LEDGER, _OLD_LEDGER)
            )
            conn.execute(sql.SQL("DROP TABLE {}").format(_OLD_LEDGER))


class PostgresTarget(MigrationTargetDriver):
    kind = "postgresql"

    conn = None

    def connect(self):
        try:
            self.conn = psycopg.connect(self.url, autocommit=True, application_name="amarise-ops migrations")
        except psycopg.Error as exc:
            raise TargetError(str(exc).strip()) from exc
        self.notices = []
        self.conn.add_notice_handler(lambda diag: self.notices.append(f"{diag.severity}: {diag.message_primary}"))

    def close(self):
        if self.conn is not None:
            self.conn.close()  # also releases the advisory lock of a run cut short
            self.conn = None

    def lock(self):
        self.conn.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
        ensure_ledger(self.conn)

    def unlock(self):
        self.conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])

    def ledger(self):
        return dict(self.conn.execute(sql.SQL("SELECT identifier, sha256 FROM {}").format(_LEDGER)).fetchall())

    def apply(self, migration):
        conn, notices = self.conn, self.notices
        notices.clear()
        analysis = analyse(migration.sql, filename=migration.filename)
        lines = []
        started = time.perf_counter()
        statement = None
        try:
            if migration.transactional:
                with conn.transaction():
                    conn.execute(f"SET LOCAL lock_timeout = {self.lock_timeout_ms}")
                    conn.execute(f"SET LOCAL statement_timeout = {self.statement_timeout_ms}")
                    for statement in analysis.statements:
                        lines.append(_execute(conn, statement))
                    conn.execute(_RECORD, [migration.identifier, migration.sha256])
            else:
                # CREATE INDEX CONCURRENTLY and the like refuse a transaction block: run on their own, in autocommit.
                conn.execute(f"SET lock_timeout = {self.lock_timeout_ms}")
                conn.execute(f"SET statement_timeout = {self.statement_timeout_ms}")
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
