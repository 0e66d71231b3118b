"""Reading ?environment=&days= the same way for the page, the CSV export and the API."""

from delivery.metrics import PERIODS
from environments.public import Environment


class BadQuery(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def read(params, *, default_environment=None):
    """(environment, days) from query parameters, or BadQuery naming what is wrong (400, or 404)."""
    key = (params.get("environment") or default_environment or "").strip()
    if not key:
        raise BadQuery(400, "environment is required, e.g. ?environment=production&days=30.")
    raw = params.get("days", "30")
    try:
        days = int(raw)
    except (TypeError, ValueError):
        days = None
    if days not in PERIODS:
        raise BadQuery(400, f"days must be one of {', '.join(map(str, PERIODS))}; got {raw[:20]!r}.")
    environment = Environment.objects.filter(key=key).first()
    if environment is None:
        known = ", ".join(Environment.objects.values_list("key", flat=True))
        raise BadQuery(404, f"No environment {key[:40]!r}; known: {known}.")
    return environment, days
