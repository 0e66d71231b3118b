"""The flags app's settings, read at call time (so tests can override them) with their defaults."""

from django.conf import settings


def cache_ttl() -> int:
    """Seconds an environment's flag document stays in the shared cache (§3: 5-minute TTL)."""
    return getattr(settings, "OPS_FLAGS_CACHE_TTL", 300)


def production_change_requests() -> bool:
    """When on, a production change becomes a change request another user must approve."""
    return getattr(settings, "OPS_FLAGS_PRODUCTION_CHANGE_REQUESTS", True)


def stale_days() -> int:
    """Days without a change after which a flag that is on (or off) everywhere counts as stale."""
    return getattr(settings, "OPS_FLAGS_STALE_DAYS", 30)


def schedule_interval() -> int:
    """Seconds between beat's polls for due scheduled changes (seeded into the schedule)."""
    return getattr(settings, "OPS_FLAGS_SCHEDULE_INTERVAL", 30)
