"""The flags app's name for the shared tracked cache (core/tracked_cache.py), which API token lookups use too."""

from core.tracked_cache import (  # noqa: F401 - re-exported
    ALL,
    DOWN_FOR,
    RETRY_TRACKING_AFTER,
    CacheUnreachable,
    DjangoCacheStore,
    TrackedRedisStore,
    get_store,
    note_outage,
    outages,
)
