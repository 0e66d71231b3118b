"""Incident settings with their defaults. Read at use, from the process environment first, so the worker and
web agree without a settings change; the webhook secret is never stored in the database."""

import os

from django.conf import settings

from core import webhook_secrets


def _get(name, default, cast=str):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return getattr(settings, name, default)
    return cast(raw)


def stakeholders() -> list[str]:
    """Emails every new incident starts with (comma-separated), e.g. the on-call list."""
    value = _get("OPS_INCIDENT_STAKEHOLDERS", "")
    return [e.strip() for e in value.split(",") if e.strip()] if isinstance(value, str) else list(value)


def webhook_url() -> str:
    return _get("OPS_INCIDENT_WEBHOOK_URL", "")


def webhook_secret() -> str:
    """The value the console signs with: AWSCURRENT when the secrets registry manages it (core.webhook_secrets),
    else the process environment. The receiver is someone else's: it accepts the old and new during a rotation."""
    return webhook_secrets.current("OPS_INCIDENT_WEBHOOK_SECRET")


def notify_retries() -> int:
    return _get("OPS_INCIDENT_NOTIFY_RETRIES", 3, int)


def notify_retry_seconds() -> float:
    return _get("OPS_INCIDENT_NOTIFY_RETRY_SECONDS", 30.0, float)


def report_reminder_hours() -> float:
    return _get("OPS_INCIDENT_REPORT_REMINDER_HOURS", 24.0, float)


def postmortem_reminder_days() -> float:
    return _get("OPS_INCIDENT_POSTMORTEM_REMINDER_DAYS", 3.0, float)


def reminder_interval_seconds() -> int:
    return _get("OPS_INCIDENT_REMINDER_INTERVAL", 3600, int)


def status_page_recent_days() -> int:
    return _get("OPS_STATUS_PAGE_RECENT_DAYS", 7, int)


def site_url() -> str:
    return getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def status_page_environments() -> list[str]:
    """The environments the public status page shows (keys, comma-separated): production only unless configured,
    since customers use production and a degraded staging is not their news."""
    value = _get("OPS_STATUS_PAGE_ENVIRONMENTS", "production")
    keys = value.split(",") if isinstance(value, str) else list(value)
    return [k.strip() for k in keys if k.strip()]
