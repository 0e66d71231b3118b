"""The monitoring app's front door: what other apps may use. Nothing else is imported across apps.

- `raise_alert(environment=, name=, severity="warning"|"critical", summary=, source=, labels=None)`: a console
  check (health probe, backup, drill, RPO...) raises an alert through the same path as Alertmanager's:
  an Alert row, the on-call notification, and for critical the environment's incident (opened or joined).
  Raising an alert that already fires changes nothing. A label `incident_severity` (an incidents severity key,
  e.g. "high") opens a critical alert's incident at that severity instead of Critical.
- `resolve_alert(environment=, name=, labels=None)`: the check recovered; the alert resolves, on-call is told
  and an incident it joined gets the resolution in its timeline.
- `active_alerts(environment=None, source=None, labels=None)`: the alerts still active (firing, silenced or
  acknowledged), to show a check's alerts on its own page.
- `metric_query(key, environment=, slot=None)`: the catalog's PromQL (e.g. "error_rate", "response_time_p95")
  for an environment, or one blue/green slot, so rollback triggers and alerts share one definition; `window=`
  ("1h") replaces the catalog's rate window for one query (the post-deployment comparison).
- `prometheus_value(promql)`: its value from the configured Prometheus, or None.
- `watches(environment)`: whether the console's Prometheus reads this environment's application metrics
  (a Prometheus is configured, the environment is monitored, a storefront or HAProxy target is scraped).
- `slot_value(key, environment=, slot=, window_seconds=)`: a catalog metric of one slot over a window, as the
  deployment engine's triggers read it; None when Prometheus does not watch the environment, has no data, or
  cannot be reached, and the caller falls back to its own source (HAProxy).

raise_alert, resolve_alert and active_alerts load monitoring.alerts (and through it incidents) on first use
(module __getattr__), not when another app imports this module at start-up (tests/test_startup.py).
"""

from typing import TYPE_CHECKING

from monitoring.choices import AlertSeverity

if TYPE_CHECKING:
    from monitoring.alerts import active_alerts, raise_alert, resolve_alert


def metric_query(key: str, *, environment: str, slot: str | None = None, window: str | None = None) -> str:
    from monitoring.models import Metric

    return Metric.objects.get(key=key).query(environment=environment, slot=slot, window=window)


def watches(environment) -> bool:
    from monitoring import conf
    from monitoring.choices import TargetKind
    from monitoring.models import ScrapeTarget

    if not conf.prometheus_url() or not environment.monitoring_enabled:
        return False
    kinds = [TargetKind.STOREFRONT, TargetKind.HAPROXY]
    return ScrapeTarget.objects.filter(environment=environment, enabled=True, kind__in=kinds).exists()


def slot_value(key: str, *, environment, slot: str, window_seconds: float) -> float | None:
    import logging

    from monitoring.exceptions import EngineUnavailable, MonitoringRefused
    from monitoring.models import Metric

    if not watches(environment):
        return None
    window = f"{max(1, round(window_seconds))}s"
    try:
        return prometheus_value(metric_query(key, environment=environment.key, slot=slot, window=window))
    except (Metric.DoesNotExist, MonitoringRefused, EngineUnavailable) as exc:
        logging.getLogger(__name__).warning("catalog %s for %s/%s unavailable: %s", key, environment.key, slot, exc)
        return None


def prometheus_value(promql: str) -> float | None:
    from monitoring import drivers

    engine = drivers.prometheus_engine()
    return engine.value(promql) if engine else None


ERROR_RATE = "error_rate"
P95 = "response_time_p95"

__all__ = [
    "ERROR_RATE",
    "P95",
    "AlertSeverity",
    "active_alerts",
    "metric_query",
    "prometheus_value",
    "raise_alert",
    "resolve_alert",
    "slot_value",
    "watches",
]


def __getattr__(name):
    if name in {"active_alerts", "raise_alert", "resolve_alert"}:
        from monitoring import alerts

        return getattr(alerts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
