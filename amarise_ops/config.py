"""Strict readers for settings: a bad value stops start-up with one line naming it."""

from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(env, name, *, default):
    raw = env.str(name, default=None)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def require(env, name, why):
    value = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} is not set: {why}")
    return value


def require_list(env, name, why):
    values = [v for v in env.list(name, default=[]) if v.strip()]
    if not values:
        raise ImproperlyConfigured(f"{name} is not set: {why}")
    return values


def url(env, name, *, default):
    value = env.str(name, default=default)
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(f"{name} must be an http(s) URL such as https://ops.example.com, not {value!r}")
    return value.rstrip("/")


def time_zone(env, name, *, default):
    value = env.str(name, default=default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name} is not a known time zone: {value!r}") from None
    return value


def _sqlite(path):
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # WAL lets web, worker and beat read while one of them writes.
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
    }


def database(env, var_dir: Path):
    raw = env.str("DATABASE_URL", default="").strip()
    if not raw:
        var_dir.mkdir(parents=True, exist_ok=True)
        return _sqlite(var_dir / "ops.sqlite3")
    parts = urlsplit(raw)
    scheme = parts.scheme
    if scheme in {"postgres", "postgresql", "pgsql"}:
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise ImproperlyConfigured("DATABASE_URL has a malformed port") from None
        if not parts.path.strip("/"):
            raise ImproperlyConfigured("DATABASE_URL names no database: use postgres://USER@HOST:PORT/NAME")
        config = env.db_url_config(raw)
        config.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
        config["CONN_HEALTH_CHECKS"] = True
        # A database that accepts and never answers must not hold a worker for ever at connect.
        config.setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
        return config
    if scheme == "sqlite":
        path = raw.split("sqlite:///", 1)[-1] if raw.startswith("sqlite:///") else ""
        if not path:
            raise ImproperlyConfigured("DATABASE_URL for SQLite must look like sqlite:////absolute/path.sqlite3")
        return _sqlite(path)
    raise ImproperlyConfigured(
        "DATABASE_URL must start with postgres:// or sqlite:///"
        + (f", not {scheme}://" if scheme else f": {raw[:20]!r} is not a URL")
    )


def redis_url(env):
    raw = env.str("REDIS_URL", default="").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://, not {raw[:20]!r}")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ImproperlyConfigured("REDIS_URL has a malformed port") from None
    if parts.scheme != "unix" and not parts.hostname:
        raise ImproperlyConfigured("REDIS_URL names no host: use redis://HOST:PORT/DB")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ImproperlyConfigured(f"REDIS_URL database must be a number, not {db!r}")
    return raw


def filesystem_broker_options(var_dir: Path):
    queue_dir = var_dir / "broker" / "queue"
    processed = var_dir / "broker" / "processed"
    control = var_dir / "broker" / "control"
    for folder in (queue_dir, processed, control):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue_dir),
        "data_folder_out": str(queue_dir),
        "processed_folder": str(processed),
        "control_folder": str(control),
        "store_processed": False,
    }


def redis_client_options(timeout: float) -> dict:
    """redis-py options for Django's cache: bounded connect and read, no retry (a hung Redis costs one timeout).

    The pool is named by its path, so settings import no redis (see amarise_ops/redis_pool.py)."""
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "pool_class": "amarise_ops.redis_pool.NoRetryConnectionPool",
    }
