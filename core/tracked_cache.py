"""The shared cache the flag documents and API token lookups live in, with a per-process copy Redis keeps honest.

(In core so that core/tokens.py can use it too; flags/store.py is its name for the flags app.)
Every process reads the documents from Redis, the shared cache. To spare a network round trip per
request, each process also keeps the values it read in memory, and asks Redis to tell it when any of
them changes (CLIENT TRACKING with REDIRECT to a second connection subscribed to __redis__:invalidate).
Before answering from memory a read drains that connection without blocking, so a change committed in
any other process (a web worker, a Celery worker) is seen on the very next read. If anything about the
tracking breaks, the copy is dropped and reads go to Redis again; if Redis is down, callers fall back
to the database. Without Redis (the embedded default) Django's cache is used as is.

Every connection has OPS_REDIS_TIMEOUT as connect and read timeout, so a Redis that accepts and never
answers costs one timeout; after such a failure the store calls Redis down for DOWN_FOR seconds and
raises at once, so a hung Redis does not cost a timeout per read. Each failure counts as an outage
(`outages()`), which documents.py uses to check cached documents against the database afterwards.
"""

import json
import logging
import os
import threading
import time

from django.conf import settings

logger = logging.getLogger("amarise_ops.cache")

ALL = object()  # "every key": Redis flushed the database
RETRY_TRACKING_AFTER = 5.0  # seconds before a broken tracking connection is tried again
DOWN_FOR = 1.0  # seconds a store answers "unreachable" at once after a connection failure or timeout

_outages = 0  # cache failures seen by this process, any store (a restored REDIS_URL builds a new store)


class CacheUnreachable(Exception):
    """Redis failed to answer a moment ago; not asked again for DOWN_FOR seconds."""


def note_outage():
    global _outages
    _outages += 1


def outages() -> int:
    """How many cache failures this process has seen: a change means cached documents may be stale."""
    return _outages


def _unreachable(exc) -> bool:
    """A timeout: Redis hangs, so asking again on a fresh connection would only wait once more.

    A closed connection is not: a fresh one may well work (the direct path), and only if that fails too
    is Redis counted as unreachable."""
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, (RedisTimeoutError, TimeoutError, CacheUnreachable))


class DjangoCacheStore:
    """The embedded default's file cache: shared by the processes of one machine, no local copy."""

    def __init__(self):
        from django.core.cache import cache

        self.cache = cache

    def get(self, key):
        return self._noted(self.cache.get, key)

    def add(self, key, value, ttl):
        self._noted(self.cache.add, key, value, ttl)

    def set(self, key, value, ttl):
        self._noted(self.cache.set, key, value, ttl)

    def delete(self, key):
        self._noted(self.cache.delete, key)

    @staticmethod
    def _noted(call, *args):
        try:
            return call(*args)
        except Exception:
            note_outage()
            raise


class TrackedRedisStore:
    def __init__(self, url):
        from redis.backoff import NoBackoff
        from redis.connection import Connection, parse_url
        from redis.retry import Retry

        # No silent reconnects: a reconnected connection would have lost its tracking, so any error breaks it.
        # RESP2: invalidations arrive as plain pub/sub messages on the listener, read by _drain().
        timeout = settings.OPS_REDIS_TIMEOUT
        self._options = {**parse_url(url), "protocol": 2, "socket_timeout": timeout, "socket_connect_timeout": timeout,
                         "retry": Retry(NoBackoff(), 0)}  # fmt: skip
        self._options.pop("connection_class", None)
        self._connection_class = Connection
        self._lock = threading.RLock()
        self._data = None
        self._listener = None
        self._local = {}  # key -> (value, expires at)
        self._broken_until = 0.0
        self._down_until = 0.0
        self.listener_id = None

    # --- connections ---

    def _connect(self):
        listener = self._connection_class(**self._options)
        listener.connect()
        listener.send_command("CLIENT", "ID")
        listener_id = listener.read_response()
        listener.send_command("SUBSCRIBE", "__redis__:invalidate")
        listener.read_response()
        data = self._connection_class(**self._options)
        data.connect()
        data.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", listener_id)
        data.read_response()
        self._listener, self._data = listener, data
        self.listener_id = listener_id
        self._local.clear()

    def _break(self, exc):
        logger.warning("flags cache tracking lost, reading Redis directly for a while: %s", exc)
        if _unreachable(exc):
            note_outage()
            self._down_until = time.monotonic() + DOWN_FOR
        self._local.clear()
        for conn in (self._listener, self._data):
            try:
                if conn is not None:
                    conn.disconnect()
            except Exception:  # noqa: S110 - already broken
                pass
        self._listener = self._data = None
        self._broken_until = time.monotonic() + RETRY_TRACKING_AFTER

    def _ensure(self):
        if self._data is None:
            self._connect()

    def _drain(self):
        """Apply every invalidation Redis has sent so far, without waiting; returns the keys invalidated."""
        invalidated = set()
        while self._listener.can_read(timeout=0):
            message = self._listener.read_response()
            if not (isinstance(message, list) and len(message) == 3 and message[0] == b"message"):
                continue
            keys = message[2]
            if keys is None:  # FLUSHDB / FLUSHALL
                self._local.clear()
                invalidated.add(ALL)
            else:
                for key in keys:
                    key = key.decode() if isinstance(key, bytes) else key
                    self._local.pop(key, None)
                    invalidated.add(key)
        return invalidated

    def _command(self, *args):
        self._data.send_command(*args)
        return self._data.read_response()

    # --- the cache API documents.py uses ---

    def _check_up(self):
        if time.monotonic() < self._down_until:
            raise CacheUnreachable("Redis did not answer a moment ago")

    def get(self, key):
        with self._lock:
            self._check_up()
            tracking = time.monotonic() >= self._broken_until
            try:
                if tracking:
                    self._ensure()
                    self._drain()
                    hit = self._local.get(key)
                    if hit is not None and hit[1] > time.monotonic():
                        return hit[0]
                    raw = self._command("GET", key)
                    value = None if raw is None else json.loads(raw)
                    ttl = self._command("PTTL", key) if raw is not None else -2
                    # An invalidation that raced the GET wins: answer the value, but do not keep it.
                    raced = self._drain()
                    if value is not None and ttl > 0 and key not in raced and ALL not in raced:
                        self._local[key] = (value, time.monotonic() + ttl / 1000)
                    return value
            except Exception as exc:
                self._break(exc)
                if _unreachable(exc):
                    raise  # no point asking again on a fresh connection
            return self._direct("GET", key, decode=True)

    def add(self, key, value, ttl):
        self._write("SET", key, json.dumps(value), "EX", int(ttl), "NX")

    def set(self, key, value, ttl):
        self._write("SET", key, json.dumps(value), "EX", int(ttl))

    def delete(self, key):
        self._write("DEL", key)

    def _write(self, *args):
        with self._lock:
            self._local.pop(args[1], None)
            self._check_up()
            if self._data is not None:
                try:
                    self._command(*args)
                    return
                except Exception as exc:
                    self._break(exc)
                    if _unreachable(exc):
                        raise
            self._direct(*args)

    def _direct(self, *args, decode=False):
        """One command on a fresh connection: the path while tracking is broken. Raises if Redis is down."""
        conn = self._connection_class(**self._options)
        try:
            conn.connect()
            conn.send_command(*args)
            raw = conn.read_response()
        except Exception:
            note_outage()
            self._down_until = time.monotonic() + DOWN_FOR
            raise
        finally:
            conn.disconnect()
        return json.loads(raw) if decode and raw is not None else raw


_stores = {}
_stores_lock = threading.Lock()


def get_store():
    """This process's store for the configured REDIS_URL (rebuilt after a fork or a settings change)."""
    url = getattr(settings, "REDIS_URL", None)
    key = (os.getpid(), url)
    store = _stores.get(key)
    if store is None:
        with _stores_lock:
            store = _stores.get(key)
            if store is None:
                store = TrackedRedisStore(url) if url else DjangoCacheStore()
                _stores.clear()  # stores of a parent process or an old setting are not ours
                _stores[key] = store
    return store
