"""Monitoring settings, read at use so tests and the admin see the current value."""

from urllib.parse import urlsplit

from django.conf import settings

from core import webhook_secrets


def _get(name, default):
    return getattr(settings, name, default)


def prometheus_url() -> str:
    return (_get("OPS_MONITORING_PROMETHEUS_URL", "") or "").rstrip("/")


def alertmanager_url() -> str:
    return (_get("OPS_MONITORING_ALERTMANAGER_URL", "") or "").rstrip("/")


def alertmanager_target() -> tuple[str, str, str] | None:
    """(scheme, host:port, path prefix) of Alertmanager for Prometheus' alerting section."""
    url = alertmanager_url()
    if not url:
        return None
    parts = urlsplit(url)
    return parts.scheme or "http", parts.netloc, parts.path or "/"


def webhook_tokens() -> list[str]:
    """Alertmanager's bearer tokens: the current one, and the pending one while the secrets registry rotates it."""
    return webhook_secrets.accepted("OPS_MONITORING_WEBHOOK_TOKEN")


def webhook_token() -> str:
    """The token Alertmanager is configured to send: the newest accepted one, so that during a rotation's
    overlap Alertmanager moves to the pending token before the console stops accepting the current one."""
    tokens = webhook_tokens()
    return tokens[-1] if tokens else ""


def webhook_url() -> str:
    url = _get("OPS_MONITORING_WEBHOOK_URL", "") or ""
    return url or _get("SITE_URL", "http://127.0.0.1:8000").rstrip("/") + "/api/alerts/alertmanager/"


def config_dir() -> str:
    return str(_get("OPS_MONITORING_CONFIG_DIR", "") or "")


def promtool() -> str:
    return _get("OPS_MONITORING_PROMTOOL", "/usr/bin/promtool")


def amtool() -> str:
    return _get("OPS_MONITORING_AMTOOL", "/usr/bin/amtool")


def scrape_interval() -> str:
    return _get("OPS_MONITORING_SCRAPE_INTERVAL", "15s")


def evaluation_interval() -> str:
    return _get("OPS_MONITORING_EVALUATION_INTERVAL", "15s")


def group_wait() -> str:
    return _get("OPS_MONITORING_GROUP_WAIT", "30s")


def group_interval() -> str:
    return _get("OPS_MONITORING_GROUP_INTERVAL", "5m")


def repeat_interval() -> str:
    return _get("OPS_MONITORING_REPEAT_INTERVAL", "4h")


def timeout() -> float:
    return float(_get("OPS_MONITORING_TIMEOUT", 5.0))
