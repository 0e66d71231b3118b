"""The monitoring page of an environment: a server-side SVG chart per catalog metric over 24 hours
(Prometheus query_range) with its warning and critical lines, and the alerts firing now."""

import time

from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from environments.public import Environment
from monitoring import charts, conf, drivers
from monitoring.choices import ACTIVE
from monitoring.exceptions import EngineUnavailable, MonitoringRefused
from monitoring.models import Alert, Metric, Threshold

DAY = 24 * 3600
STEP = 300  # one point every 5 minutes: 288 per chart


def _series(result):
    series = []
    for item in result:
        labels = item.get("metric", {})
        label = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "environment") or "all"
        points = [(float(t), float(v)) for t, v in item.get("values", []) if v not in ("NaN", "+Inf", "-Inf")]
        series.append((label, points))
    return series


def charts_for(environment, *, now=None):
    """[(metric, svg or None, error)]; no Prometheus or a failing one leaves the page working."""
    engine = drivers.prometheus_engine()
    if engine is None:
        return [], ""
    end = now or time.time()
    start = end - DAY
    thresholds = {t.metric_id: t for t in Threshold.objects.filter(environment=environment)}
    out = []
    for metric in Metric.objects.all():
        threshold = thresholds.get(metric.pk)
        try:
            result = engine.query_range(metric.query(environment=environment.key), start=start, end=end, step=STEP)
        except (EngineUnavailable, MonitoringRefused) as exc:
            return out, str(exc)
        out.append(
            (
                metric,
                charts.svg(
                    title=metric.name,
                    unit=metric.unit,
                    series=_series(result),
                    start=start,
                    end=end,
                    warning=threshold.warning if threshold else None,
                    critical=threshold.critical if threshold else None,
                ),
            )
        )
    return out, ""


def environment_page(request, key, *, admin_context):
    environment = get_object_or_404(Environment, key=key)
    charts_list, error = charts_for(environment)
    firing = Alert.objects.filter(environment=environment, status__in=ACTIVE).select_related(
        "silence", "silence__created_by"
    )
    context = {
        **admin_context,
        "environment": environment,
        "title": f"Monitoring: {environment}",
        "prometheus_url": conf.prometheus_url(),
        "charts": charts_list,
        "error": error,
        "firing": firing,
        "environments": Environment.objects.order_by("order"),
    }
    return TemplateResponse(request, "admin/monitoring/page.html", context)
