"""The runtime API the storefront reads: the flag document per environment, one flag, writes, and OFREP.

Reads are served from the cached document, so a warm request runs no database query. With the cache
down they read the database; with both down they answer 503, never a partial document.
"""

import logging

from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse

from core import auth
from core.http import BodyRefused, request_json
from core.models import Scope
from flags import conf, services
from flags.answers import answers_for
from flags.documents import etag, get_document
from flags.exceptions import FlagError, NotAllowed

logger = logging.getLogger("amarise_ops.flags")

UNAVAILABLE = "flag store unavailable: database and cache cannot be read"


def _cache_headers(response, document):
    response["ETag"] = etag(document)
    response["Cache-Control"] = f"max-age={conf.cache_ttl()}"
    return response


def _not_modified(request, document):
    tags = [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]
    return etag(document) in tags or "*" in tags


def _error(status, message, **extra):
    return JsonResponse({"error": message, **extra}, status=status)


@auth.api("GET", "HEAD")  # public: the storefront reads it without a token
def flag_document(request, environment):
    try:
        document = get_document(environment)
    except DatabaseError:
        logger.exception("flag document for %s unavailable", environment)
        return _error(503, UNAVAILABLE)
    if document is None:
        return _error(404, f"unknown environment {environment!r}")
    if _not_modified(request, document):
        return _cache_headers(HttpResponse(status=304), document)
    return _cache_headers(_json_bytes(answers_for(document).body), document)


@auth.api("GET", "HEAD", "PATCH")
def flag_detail(request, environment, key):
    if request.method == "PATCH":
        return _patch(request, environment, key)
    try:
        document = get_document(environment)
    except DatabaseError:
        logger.exception("flag document for %s unavailable", environment)
        return _error(503, UNAVAILABLE)
    if document is None:
        return _error(404, f"unknown environment {environment!r}")
    if key not in document["flags"]:
        return _error(404, f"unknown flag {key!r} in {environment}", key=key)
    return _cache_headers(_json_bytes(answers_for(document).detail(key)), document)


def _json_bytes(body: bytes):
    """A JSON answer prepared once per document version (flags/answers.py): the same bytes JsonResponse sends."""
    return HttpResponse(body, content_type="application/json")


def _patch(request, environment, key):
    """A flag write acts on the URL's environment, as its owner, through the same set_state as a click."""
    caller = auth.authenticate(
        request, scope=Scope.FLAGS_WRITE, environment=environment, permissions=[services.CHANGE_PERMISSION]
    )
    try:
        payload = request_json(request)
    except BodyRefused as exc:
        return _error(exc.status, exc.message)
    if not isinstance(payload, dict) or not isinstance(payload.get("enabled"), bool):
        return _error(400, 'send {"enabled": true|false, "reason": "..."}')
    reason = payload.get("reason") or f"API token {caller.token}"
    if not isinstance(reason, str):
        return _error(400, "reason must be a string")
    try:
        state = services.state_for(flag_key=key, environment_key=environment)
    except FlagError as exc:
        return _error(404, str(exc), key=key)
    try:
        outcome = services.set_state(
            state_id=state.pk, enabled=payload["enabled"], actor=caller.user, reason=reason, source="api"
        )
    except NotAllowed as exc:
        return _error(403, str(exc))
    except FlagError as exc:
        return _error(400, str(exc))
    if outcome.change_request is not None:
        request_ = outcome.change_request
        return JsonResponse(
            {
                "environment": environment,
                "key": key,
                "enabled": outcome.state.enabled,
                "change_request": {"id": request_.pk, "status": request_.status, "enabled": request_.enabled},
                "detail": outcome.message,
            },
            status=202,
        )
    return JsonResponse(
        {"environment": environment, "key": key, "enabled": outcome.state.enabled, "detail": outcome.message}
    )


# --- OpenFeature Remote Evaluation Protocol ------------------------------------------------------------


def _ofrep_context(request, key=None):
    """(environment, None) or (None, error response) from the token and the request's context."""
    base = {"key": key} if key is not None else {}
    try:
        auth.authenticate(request, scope=Scope.FLAGS_READ)
    except auth.AuthError as exc:
        return None, JsonResponse({**base, "errorCode": "GENERAL", "errorDetails": exc.message}, status=exc.status)
    try:
        payload = request_json(request, empty={})
    except BodyRefused as exc:
        return None, JsonResponse({**base, "errorCode": "PARSE_ERROR", "errorDetails": exc.message}, status=exc.status)
    context = payload.get("context", {}) if isinstance(payload, dict) else None
    if not isinstance(context, dict):
        return None, JsonResponse(
            {**base, "errorCode": "INVALID_CONTEXT", "errorDetails": "context must be a JSON object"}, status=400
        )
    scope = auth.token_environments(request)
    wanted = context.get("environment")
    if wanted is not None and wanted not in scope:
        return None, JsonResponse(
            {**base, "errorCode": "GENERAL", "errorDetails": f"this token is not scoped to {wanted!r}"}, status=403
        )
    if wanted is None and len(scope) != 1:
        return None, JsonResponse(
            {
                **base,
                "errorCode": "INVALID_CONTEXT",
                "errorDetails": "this token covers several environments: set context.environment",
            },
            status=400,
        )
    return wanted or scope[0], None


@auth.api("POST")
def ofrep_evaluate(request, key):
    environment, failure = _ofrep_context(request, key)
    if failure is not None:
        return failure
    try:
        document = get_document(environment)
    except DatabaseError:
        return JsonResponse({"key": key, "errorCode": "GENERAL", "errorDetails": UNAVAILABLE}, status=503)
    if document is None or key not in document["flags"]:
        return JsonResponse(
            {"key": key, "errorCode": "FLAG_NOT_FOUND", "errorDetails": f"no flag {key!r} in {environment}"},
            status=404,
        )
    return _json_bytes(answers_for(document).ofrep_single(key))


@auth.api("POST")
def ofrep_evaluate_all(request):
    environment, failure = _ofrep_context(request)
    if failure is not None:
        return failure
    try:
        document = get_document(environment)
    except DatabaseError:
        return JsonResponse({"errorCode": "GENERAL", "errorDetails": UNAVAILABLE}, status=503)
    if document is None:
        return JsonResponse(
            {"errorCode": "GENERAL", "errorDetails": f"unknown environment {environment!r}"}, status=404
        )
    if _not_modified(request, document):
        response = HttpResponse(status=304)
        response["ETag"] = etag(document)
        return response
    response = _json_bytes(answers_for(document).ofrep_bulk)
    response["ETag"] = etag(document)
    return response
