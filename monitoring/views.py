"""Alertmanager's webhook: bearer token, version 4 payload, bulk and idempotent ingestion."""

import hmac

from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.http import json_error
from monitoring import alerts, conf
from monitoring.exceptions import MonitoringRefused


def _authorised(request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters (a header may carry any). Each accepted
    # token is compared: the current one, and the pending one during a rotation's overlap.
    return any(hmac.compare_digest(given.strip().encode(), t.encode()) for t in conf.webhook_tokens())


@csrf_exempt
@require_POST
def alertmanager_webhook(request):
    if not _authorised(request):
        return json_error(401, "a bearer token is required (OPS_MONITORING_WEBHOOK_TOKEN)")
    try:
        result = alerts.ingest_webhook(request.body)
    except MonitoringRefused as exc:
        return json_error(400, str(exc))
    except DatabaseError:
        return json_error(503, "the console's database is unavailable; Alertmanager will retry")
    return JsonResponse(result)
