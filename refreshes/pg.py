"""PostgreSQL plumbing: connections from DSNs, and creating, renaming and dropping whole databases."""

import time
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

from refreshes import conf
from refreshes.exceptions import RefreshError

_RENAME = sql.SQL("ALTER DATABASE {} RENAME TO {}")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


@dataclass(frozen=True)
class Dsn:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def parse(cls, url: str) -> "Dsn":
        parts = urlsplit(url or "")
        if parts.scheme not in {"postgres", "postgresql"} or not parts.path.strip("/"):
            raise RefreshError("a database URL must look like postgres://USER@HOST:PORT/NAME")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=unquote(parts.path.lstrip("/")),
        )

    def server(self):
        """Where the database lives, with local names made equal so 'localhost' cannot hide a match."""
        host = "localhost" if self.host in _LOCAL_HOSTS else self.host.lower()
        return host, self.port

    def same_database(self, other: "Dsn") -> bool:
        return self.server() == other.server() and self.dbname == other.dbname

    def with_db(self, dbname: str) -> "Dsn":
        return Dsn(self.host, self.port, self.user, self.password, dbname)

    def kwargs(self, **extra):
        params = {"host": self.host, "port": self.port, "user": self.user, "dbname": self.dbname}
        if self.password:
            params["password"] = self.password
        params["connect_timeout"] = conf.CONNECT_TIMEOUT
        params.update(extra)
        return params

    def libpq_env(self, *, read_only=False):
        """Environment for pg_dump/pg_restore/psql: the password goes there, never on a command line."""
        env = {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user, "PGDATABASE": self.dbname}
        if self.password:
            env["PGPASSWORD"] = self.password
        if read_only:
            env["PGOPTIONS"] = "-c default_transaction_read_only=on"
        return env

    def __str__(self):
        # Safe to show: no password.
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}"


def connect(dsn: Dsn, *, read_only=False, autocommit=False):
    options = "-c default_transaction_read_only=on" if read_only else None
    extra = {"options": options} if options else {}
    return psycopg.connect(**dsn.kwargs(**extra), autocommit=autocommit)


@contextmanager
def maintenance(dsn: Dsn):
    """An autocommit connection to the server's `postgres` database, for CREATE/ALTER/DROP DATABASE."""
    with connect(dsn.with_db("postgres"), autocommit=True) as conn:
        yield conn


def own_name(name: str) -> str:
    """Refuse any database name this console did not make: DROP and RENAME go nowhere else."""
    if not name.startswith(conf.DATABASE_PREFIX):
        raise RefreshError(f"refusing to touch database {name!r}: its name does not start with {conf.DATABASE_PREFIX}")
    return name


def database_exists(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def terminate(conn, *names: str):
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
        [list(names)],
    )


def drop_database(conn, name: str):
    own_name(name)
    terminate(conn, name)
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def create_database(conn, name: str, *, template: str | None = None, private=True):
    own_name(name)
    if template:
        terminate(conn, template)
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
    else:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
    _retry_busy(lambda: conn.execute(statement), terminate_first=lambda: template and terminate(conn, template))
    if private:
        # Scratch copies hold production data until masked: nobody but the console may connect.
        conn.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))


def swap_databases(conn, *, live: str, new: str, old: str, marker: str):
    """Put `new` in place of `live` in one transaction, so `live` is never missing nor half built.

    ALTER DATABASE ... RENAME is transactional: both renames commit together or not at all.
    The old copy is kept as `old` for the caller to drop.
    """
    own_name(live), own_name(new), own_name(old)

    def attempt():
        with conn.transaction():
            terminate(conn, live, new)
            if database_exists(conn, live):
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(live), sql.Identifier(old))
                )
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(new), sql.Identifier(live)))
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(live), sql.Literal(marker)))

    _retry_busy(attempt)


def database_comment(conn, name: str) -> str:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
    ).fetchone()
    return (row[0] or "") if row else ""


def _retry_busy(fn, *, terminate_first=None, attempts=20):
    # A terminated backend takes a moment to go; "being accessed by other users" until then.
    for attempt in range(attempts):
        try:
            return fn()
        except psycopg.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise
            if terminate_first:
                terminate_first()
            time.sleep(0.1 * (attempt + 1))
