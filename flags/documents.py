"""Each environment's flag document, kept in the shared cache (Redis in production) and rebuilt from the database.

The document is what the API serves and what `flags.is_enabled` reads: {"environment", "flags", "version"}.
The shared cache is flags.store: Redis, with a per-process copy Redis invalidates.
Keys carry a schema version, so during a blue-green switch old and new code never read each other's shape.
A change rewrites the document once its transaction commits (write-through), so every process, Celery
workers included, sees it at once; a reader that raced the write fills with add(), which cannot overwrite it.
Unknown environments are cached too (negative cache), and any cache error falls back to the database.

A change made while Redis is unreachable cannot rewrite the document, so after an outage the cached one may
be the pre-outage document. Each process therefore checks a cached document's version against the database
the first time it reads it after starting and after any cache failure it has seen (store.outages()), and
rewrites it when it differs: one query per environment per outage, not per read. The process whose rewrite
failed also keeps the environment as pending and rewrites it on its next successful cache read, whichever
environment that read is for.
"""

import logging

from django.db import transaction
from django.db.models import Max

from flags import conf
from flags.store import get_store, outages

logger = logging.getLogger("amarise_ops.flags")

SCHEMA = "v1"
MISSING = "__missing__"  # the negative-cache sentinel: this environment does not exist

_verified = {}  # document key -> store.outages() when this process last checked it against the database
_pending = set()  # environments whose rewrite failed in this process (the cache was unreachable)


def document_key(environment_key: str) -> str:
    return f"ops:flags:{SCHEMA}:doc:{environment_key}"


def build_document(environment_key: str):
    """The environment's whole document from the database, or None when there is no such environment."""
    from environments.public import Environment
    from flags.models import Flag, FlagState

    environment = Environment.objects.filter(key=environment_key).only("pk", "key").first()
    if environment is None:
        return None
    states = FlagState.objects.filter(environment=environment).values_list("flag__key", "enabled")
    flags = dict(sorted(states))
    # Every change to a cell or a flag writes a history row, so the newest row ids make a version that
    # moves on every change (a flip back and forth included) and never repeats.
    state_version = FlagState.history.filter(environment_id=environment.pk).aggregate(v=Max("history_id"))["v"] or 0
    flag_version = Flag.history.aggregate(v=Max("history_id"))["v"] or 0
    return {"environment": environment.key, "flags": flags, "version": f"{state_version}.{flag_version}"}


def get_document(environment_key: str):
    """The cached document (None for an unknown environment). Raises DatabaseError only if both stores fail."""
    key = document_key(environment_key)
    seen = outages()
    cache_ok = True
    try:
        cached = get_store().get(key)
    except Exception as exc:  # any cache failure: serve from the database instead
        cache_ok = False
        cached = None
        logger.warning("flags cache unavailable, reading %s from the database: %s", environment_key, exc)
    if cache_ok and _pending:
        pending = sorted(_pending)
        for pending_key in pending:
            refresh(pending_key)
        if environment_key in pending:
            cached = None  # what was read came before the rewrite: answer from the database
    if cached is not None:
        if _verified.get(key) == outages():
            return None if cached == MISSING else cached
        return _verify(key, environment_key, cached)
    document = build_document(environment_key)
    if cache_ok:
        try:
            get_store().add(key, MISSING if document is None else document, conf.cache_ttl())
            _verified[key] = seen
        except Exception as exc:
            logger.warning("flags cache unavailable, not caching %s: %s", environment_key, exc)
    return document


def _verify(key, environment_key, cached):
    """The database's document, written over a cached one that differs (left from before an outage)."""
    seen = outages()
    document = build_document(environment_key)
    fresh = MISSING if document is None else document
    if fresh != cached:
        logger.warning("flags cache held an outdated document for %s: rewriting it", environment_key)
        try:
            get_store().set(key, fresh, conf.cache_ttl())
        except Exception as exc:
            logger.warning("flags cache unavailable, not rewriting %s: %s", environment_key, exc)
            return document
    _verified[key] = seen
    return document


def refresh(environment_key: str):
    """Rewrite one environment's cached document from the database; run after a change commits."""
    key = document_key(environment_key)
    seen = outages()
    try:
        store = get_store()
        store.delete(key)
        document = build_document(environment_key)
        store.set(key, MISSING if document is None else document, conf.cache_ttl())
        _verified[key] = seen
        _pending.discard(environment_key)
    except Exception as exc:
        _pending.add(environment_key)
        # The delete alone is enough for correctness; readers rebuild. Worst case the TTL bounds staleness.
        logger.warning("flags cache refresh failed for %s: %s", environment_key, exc)
        try:
            get_store().delete(key)
        except Exception:  # noqa: S110 - the cache is down; nothing stale can be served from it either
            pass


def refresh_on_commit(environment_key: str):
    """Rebuild the document once the change commits: once per environment however many cells the transaction set.

    Every callback of one commit runs after all of its changes, so the first to run for an environment sees the
    final rows and the others have nothing left to do. They share one "done" mark (a seed or an import sets
    dozens of cells: one rebuild, not one per cell).
    """
    pending = transaction.get_connection().run_on_commit
    shared = next((e[1].flags_done for e in pending if getattr(e[1], "flags_environment", None) == environment_key),
                  None) or {"done": False}  # fmt: skip

    def run():
        if not shared["done"]:
            shared["done"] = True
            refresh(environment_key)

    run.flags_environment, run.flags_done = environment_key, shared
    transaction.on_commit(run)


def etag(document) -> str:
    return f'"{document["environment"]}-{document["version"]}"'
