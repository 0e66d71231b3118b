"""Feature flags as a runtime service (§3 of the strategy).

`flags.is_enabled(key, environment=...)` is the one way code inside the console reads a flag: it reads
the environment's cached document, defaults to False for anything unknown, and never raises.
"""

import logging

logger = logging.getLogger("amarise_ops.flags")


def is_enabled(key: str, *, environment: str) -> bool:
    from flags.documents import get_document

    try:
        document = get_document(environment)
    except Exception as exc:  # §3 fallback: default to false if the lookup fails
        logger.warning("flag lookup failed (%s in %s), answering false: %s", key, environment, exc)
        return False
    return bool(document and document["flags"].get(key, False))
