"""FlagClient: how a Python service reads flags from the console. It caches, and it never raises.

    client = FlagClient("https://ops.amarise.com", "production", token)
    if client.is_enabled("checkoutEnabled"): ...

Within `ttl` seconds the answer comes from memory. After that the next call refreshes (a conditional GET,
so an unchanged document costs a 304). If the refresh fails the client keeps serving the last document it
had (reason STALE) and tries again after `retry_after` seconds; with no document ever fetched it answers
False (reason ERROR), the strategy's fallback. A failure is logged once per refresh period, not per call.
"""

import logging
import threading
import time

import requests

logger = logging.getLogger("amarise_ops.flags.client")

LIVE, STALE, ERROR = "CACHED", "STALE", "ERROR"


class FlagClient:
    def __init__(self, base_url, environment, token=None, *, ttl=300.0, timeout=2.0, retry_after=None):
        self.url = f"{base_url.rstrip('/')}/api/flags/{environment}/"
        self.environment = environment
        self.ttl = ttl
        self.timeout = timeout
        self.retry_after = ttl if retry_after is None else retry_after
        self._session = requests.Session()
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"
        self._flags = {}
        self._etag = None
        self._fetched = False
        self._fresh_until = 0.0  # monotonic time until which the in-memory document is answered as is
        self._last_logged = None
        self._lock = threading.Lock()
        self.reason = ERROR
        self.version = None

    def is_enabled(self, key, environment=None) -> bool:
        """The flag's value; False when unknown or when nothing could ever be fetched. Never raises."""
        if environment is not None and environment != self.environment:
            return _console_is_enabled(key, environment)
        if time.monotonic() >= self._fresh_until:
            self._refresh()
        return self._flags.get(key, False) is True

    def evaluate(self, key) -> tuple[bool, str]:
        """(value, reason): reason is CACHED, STALE (serving the last known document) or ERROR (default False)."""
        value = self.is_enabled(key)
        return value, self.reason

    def all(self) -> dict:
        if time.monotonic() >= self._fresh_until:
            self._refresh()
        return dict(self._flags)

    def _refresh(self):
        # One thread refreshes; the others keep answering from memory meanwhile.
        if not self._lock.acquire(blocking=False):
            return
        try:
            if time.monotonic() < self._fresh_until:
                return
            headers = {"If-None-Match": self._etag} if self._etag else {}
            try:
                response = self._session.get(self.url, headers=headers, timeout=self.timeout)
                if response.status_code == 304 and self._fetched:
                    pass
                elif response.status_code == 200:
                    body = response.json()
                    flags = body["flags"]
                    if not isinstance(flags, dict):
                        raise ValueError("flags is not a mapping")
                    self._flags = {str(k): v is True for k, v in flags.items()}
                    self._etag = response.headers.get("ETag")
                    self.version = body.get("version")
                    self._fetched = True
                else:
                    raise RuntimeError(f"HTTP {response.status_code}")
            except Exception as exc:
                self.reason = STALE if self._fetched else ERROR
                self._fresh_until = time.monotonic() + self.retry_after
                self._log_failure(exc)
                return
            self.reason = LIVE
            self._fresh_until = time.monotonic() + self.ttl
        except Exception:  # never raise, whatever happens (even in logging)
            self._fresh_until = time.monotonic() + self.retry_after
        finally:
            self._lock.release()

    def _log_failure(self, exc):
        now = time.monotonic()
        if self._last_logged is None or now - self._last_logged >= self.ttl:
            self._last_logged = now
            serving = "the last known flags" if self._fetched else "false for every flag"
            logger.warning("flag refresh from %s failed (%s); serving %s", self.url, exc, serving)


def _console_is_enabled(key, environment):
    """Inside the console itself: read through the shared server-side cache, no HTTP."""
    try:
        import flags

        return flags.is_enabled(key, environment=environment)
    except Exception:
        return False
