"""PostgreSQL plumbing: connections from DSNs, and creating, renaming and dropping whole databases."""

import time
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from refreshes import conf
from refreshes.exceptions import RefreshError

_RENAME = sql.SQL("ALTER DATABASE {} RENAME TO {}")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


# What a Dsn fills in when the URL leaves it out (the console's long-standing defaults).
_DEFAULTS = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
_READ_ONLY = "-c default_transaction_read_only=on"


@dataclass(frozen=True)
class Dsn:
    """A database URL as libpq reads it: every option kept (sslmode, sslrootcert, sslcert, target_session_attrs,
    application_name, options, ...), not only host, port, user, password and database name."""

    params: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, url: str) -> "Dsn":
        parts = urlsplit(url or "")
        if parts.scheme not in {"postgres", "postgresql"} or not parts.path.strip("/"):
            raise RefreshError("a database URL must look like postgres://USER@HOST:PORT/NAME[?sslmode=...&...]")
        try:
            parsed = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise RefreshError(f"the database URL cannot be read: {str(exc).strip()}") from None
        return cls.of({**_DEFAULTS, **{k: str(v) for k, v in parsed.items() if v is not None}})

    @classmethod
    def of(cls, params: dict) -> "Dsn":
        return cls(tuple(sorted(params.items())))

    @property
    def options(self) -> dict:
        return dict(self.params)

    host = property(lambda self: self.options.get("host", ""))
    port = property(lambda self: int(self.options.get("port", "5432").split(",")[0]))
    user = property(lambda self: self.options.get("user", ""))
    password = property(lambda self: self.options.get("password", ""))
    dbname = property(lambda self: self.options.get("dbname", ""))

    def server(self):
        """Where the database lives, with local names made equal so 'localhost' cannot hide a match."""
        host = "localhost" if self.host in _LOCAL_HOSTS else self.host.lower()
        return host, self.port

    def same_database(self, other: "Dsn") -> bool:
        return self.server() == other.server() and self.dbname == other.dbname

    def with_db(self, dbname: str) -> "Dsn":
        return Dsn.of({**self.options, "dbname": dbname})

    def kwargs(self, *, read_only=False, **extra):
        """psycopg.connect's keywords: every libpq option of the URL, the console's timeout if it sets none."""
        params = {"connect_timeout": str(conf.CONNECT_TIMEOUT), **self.options}
        if read_only:
            params["options"] = f"{params.get('options', '')} {_READ_ONLY}".strip()
        params.update(extra)
        return params

    def conninfo(self, *, read_only=False, password=True) -> str:
        params = self.kwargs(read_only=read_only)
        if not password:
            params.pop("password", None)
        return make_conninfo("", **params)

    def command_args(self, *, read_only=False):
        """(argument, environment) for pg_dump/pg_restore/psql: `--dbname=<conninfo>` carries every libpq option;
        the password goes in the environment, never on a command line."""
        env = {"PGPASSWORD": self.password} if self.password else {}
        return f"--dbname={self.conninfo(read_only=read_only, password=False)}", env

    def url(self) -> str:
        """As a postgresql:// URL, every option kept (for the migrations executor, which takes URLs)."""
        options = self.options
        user = quote(options.pop("user", ""), safe="")
        password = options.pop("password", "")
        host = quote(options.pop("host", ""), safe="")
        port = options.pop("port", "")
        dbname = quote(options.pop("dbname", ""), safe="")
        auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
        query = f"?{urlencode(options, quote_via=quote)}" if options else ""
        return f"postgresql://{auth}{host}{f':{port}' if port else ''}/{dbname}{query}"

    def __str__(self):
        # Safe to show: no password.
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}"


def connect(dsn: Dsn, *, read_only=False, autocommit=False):
    return psycopg.connect(**dsn.kwargs(read_only=read_only), autocommit=autocommit)


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
