"""Migrations log settings, with their defaults."""

import shutil
import sys
from pathlib import Path

from django.conf import settings


def squawk_binary() -> str:
    configured = getattr(settings, "OPS_MIGRATIONS_SQUAWK", "")
    if configured:
        return configured
    # The squawk-cli wheel puts the binary next to the venv's python; the worker's PATH may not have it.
    beside = Path(sys.executable).parent / "squawk"
    return str(beside) if beside.exists() else (shutil.which("squawk") or "squawk")


def squawk_exclude() -> list[str]:
    # prefer-robust-stmts asks for IF [NOT] EXISTS so a half-run file can be rerun; the console runs each
    # migration in a transaction and records what applied, so it is noise here.
    return list(getattr(settings, "OPS_MIGRATIONS_SQUAWK_EXCLUDE", ["prefer-robust-stmts"]))


def squawk_pg_version() -> str:
    return getattr(settings, "OPS_MIGRATIONS_PG_VERSION", "")


def squawk_timeout() -> float:
    return float(getattr(settings, "OPS_MIGRATIONS_SQUAWK_TIMEOUT", 120))


def slow_factor() -> float:
    """A run slower than this many times its estimate is flagged."""
    return float(getattr(settings, "OPS_MIGRATIONS_SLOW_FACTOR", 2.0))
