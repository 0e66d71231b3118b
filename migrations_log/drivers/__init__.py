"""How the console reaches an environment's database to migrate it: one driver per kind, imported lazily.

The kind comes from the database URL's scheme (postgres:// and postgresql:// are "postgresql").
"""

from urllib.parse import urlsplit

from core.drivers import Registry, UnknownDriver
from migrations_log.drivers.base import TargetError, TargetUnavailable

targets = Registry("migration target", {"postgresql": "migrations_log.drivers.postgresql.PostgresTarget"})

_SCHEMES = {"postgres": "postgresql", "postgresql": "postgresql"}


def driver_for(url: str, **options):
    """A driver for the database at `url` (not yet connected); an unknown scheme is a TargetError."""
    scheme = urlsplit(url).scheme
    try:
        return targets.get(_SCHEMES.get(scheme, scheme))(url, **options)
    except UnknownDriver as exc:
        raise TargetError(f"the database URL's scheme {scheme!r} is not one the console migrates: {exc}") from None


__all__ = ["TargetError", "TargetUnavailable", "driver_for", "targets"]
