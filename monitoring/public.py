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
"""

from monitoring.alerts import active_alerts, raise_alert, resolve_alert
from monitoring.choices import AlertSeverity


def metric_query(key: str, *, environment: str, slot: str | None = None, window: str | None = None) -> str:
    from monitoring.models import Metric

    metric = Metric.objects.get(key=key)
    if window:  # e.g. "1h": this query only, the catalog row is not saved
        metric.window = window
    return metric.query(environment=environment, slot=slot)


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
]
