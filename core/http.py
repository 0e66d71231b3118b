"""JSON helpers shared by the console's small APIs, and the rule that every API answers in JSON.

A body is read through `parse_json`: too large, not UTF-8, not JSON, nested too deeply or holding a NUL
(which PostgreSQL cannot store) raises BodyRefused, which ApiErrorsMiddleware answers as a JSON 4xx naming
the problem. The middleware also turns any other non-JSON error answer on an API path (405, 404, CSRF's
403) into JSON, so no API ever answers an HTML page.
"""

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

API_PREFIXES = ("/api/", "/ofrep/", "/healthz")
MAX_DEPTH = 32  # no payload the console reads nests deeper than a few levels


class BodyRefused(ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def json_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _check_tree(value, depth=1):
    """BodyRefused if `value` nests deeper than MAX_DEPTH or holds a NUL in any string (key or value)."""
    if depth > MAX_DEPTH:
        raise BodyRefused(400, f"the JSON nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        if "\x00" in value:
            raise BodyRefused(400, "the JSON holds a NUL character (\\u0000), which the console cannot store")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_tree(key, depth + 1)
            _check_tree(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, depth + 1)


def _max_bytes() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440


def parse_json(body: bytes, *, empty=None):
    """The JSON value of `body` (`empty` when there is none), or BodyRefused naming what is wrong."""
    if not body:
        return empty
    if len(body) > _max_bytes():
        raise BodyRefused(413, f"the body is larger than {_max_bytes()} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyRefused(400, "the body is not UTF-8 text") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise BodyRefused(400, f"the JSON nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise BodyRefused(400, f"the body is not JSON: {str(exc)[:120]}") from None
    _check_tree(value)
    return value


def request_json(request, *, empty=None):
    """The request body's JSON value; BodyRefused when it is too large or not JSON."""
    try:
        body = request.body
    except RequestDataTooBig:
        raise BodyRefused(413, f"the body is larger than {_max_bytes()} bytes") from None
    return parse_json(body, empty=empty)


def json_object(request) -> dict | None:
    """The request body as a JSON object ({} when empty), or None when it is JSON but not an object.
    A body that is not JSON at all raises BodyRefused (answered by ApiErrorsMiddleware)."""
    payload = request_json(request, empty={})
    return payload if isinstance(payload, dict) else None


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIXES)


_REASONS = {
    400: "bad request",
    403: "forbidden",
    404: "no such API path or object",
    405: "method not allowed",
    413: "the body is too large",
}


def _nul_in_url(request) -> bool:
    return "\x00" in request.path or any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
    )


class ApiErrorsMiddleware:
    """On API paths: bad bodies answered as JSON 4xx, and no error answer in HTML."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api(request) and _nul_in_url(request):
            return json_error(400, "the URL holds a NUL character (%00), which names nothing the console stores")
        response = self.get_response(request)
        if not is_api(request) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        message = _REASONS.get(response.status_code, f"error {response.status_code}")
        if response.status_code == 405 and response.get("Allow"):
            message = f"method {request.method} not allowed: use {response['Allow']}"
        elif response.status_code == 403 and b"CSRF" in getattr(response, "content", b"")[:4000]:
            message = "CSRF verification failed: a session-authenticated write needs the CSRF token"
        json_response = json_error(response.status_code, message)
        if response.get("Allow"):
            json_response["Allow"] = response["Allow"]
        return json_response

    def process_exception(self, request, exception):
        if isinstance(exception, BodyRefused):
            return json_error(exception.status, exception.message)
        if isinstance(exception, RequestDataTooBig) and is_api(request):
            return json_error(413, f"the body is larger than {_max_bytes()} bytes")
        return None  # Django answers (404, 403, 500...); __call__ turns an API's answer into JSON
