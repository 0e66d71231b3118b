"""GET /healthz: is the console itself able to work? Its load balancer asks.

The checks run side by side, each in its own thread, and the answer leaves by the deadline whatever hangs
(a Redis or broker that accepts and never answers, a locked database): a check still running is named as
timed out. Each client also has its own socket timeouts, so a stuck check's thread ends soon after.
"""

import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection


def _timed(check):
    started = time.monotonic()
    try:
        check()
    except Exception as exc:  # any failure is the answer, not a 500
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def _database():
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # this thread's own connection: the limit ends with it
                cursor.execute("SET statement_timeout = 2000")
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connections.close_all()  # this thread's own connections; nobody else will close them


def _cache():
    key, value = "healthz:probe", uuid.uuid4().hex
    cache.set(key, value, timeout=10)
    if cache.get(key) != value:
        raise RuntimeError("value written was not read back")


def _broker():
    with Connection(settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS) as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.OPS_REDIS_TIMEOUT)


CHECKS = {"database": _database, "cache": _cache, "broker": _broker}


def run_checks(checks, deadline: float) -> dict:
    """Each check's result, or a timeout for those still running after `deadline` seconds in all."""
    results = {}

    def run(name, check):
        results[name] = _timed(check)

    threads = [
        threading.Thread(target=run, args=item, daemon=True, name=f"healthz-{item[0]}") for item in checks.items()
    ]
    for thread in threads:
        thread.start()
    ends_at = time.monotonic() + deadline
    for thread in threads:
        thread.join(max(0.0, ends_at - time.monotonic()))
    late = {"ok": False, "error": f"no answer within {deadline:g}s"}
    return {name: results.get(name, late) for name in checks}


@never_cache
@require_GET
def healthz(request):
    checks = run_checks(CHECKS, settings.OPS_HEALTHZ_DEADLINE)
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503)
