"""JSON helpers shared by the console's small APIs."""

import json

from django.http import JsonResponse


def json_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def json_object(request) -> dict | None:
    """The request body as a JSON object, or None when it is not one."""
    try:
        payload = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None
