from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.seeding import seed_row
from environments.public import Environment
from monitoring import strategy
from monitoring.models import Metric, OnCall, Threshold


def seed(report):
    metrics = {}
    for order, (key, name, category, unit, per_slot, promql) in enumerate(strategy.METRICS, start=1):
        metrics[key] = seed_row(
            Metric,
            lookup={"key": key},
            values={
                "name": name,
                "category": category,
                "unit": unit,
                "per_slot": per_slot,
                "promql": promql,
                "window": strategy.DEFAULT_WINDOW,
                "order": order,
            },  # fmt: skip
            report=report,
        )
    for environment in Environment.objects.order_by("order"):
        seed_row(
            OnCall,
            lookup={"environment": environment},
            values={"email": strategy.ONCALL_EMAIL.format(key=environment.key)},
            report=report,
        )
        if not environment.alerting_enabled:
            continue
        for key, (warning, critical) in strategy.THRESHOLDS.items():
            if metrics.get(key) is None:
                continue  # an operator deleted the metric
            seed_row(
                Threshold,
                lookup={"environment": environment, "metric": metrics[key]},
                values={"warning": warning, "critical": critical, "for_seconds": strategy.THRESHOLD_FOR_SECONDS},
                report=report,
            )

    every, _ = IntervalSchedule.objects.get_or_create(
        every=settings.OPS_MONITORING_SILENCE_SYNC_INTERVAL, period=IntervalSchedule.SECONDS
    )
    seed_row(
        PeriodicTask,
        lookup={"name": "Monitoring: read Alertmanager's silences"},
        values={"task": strategy.SILENCE_SYNC_TASK, "interval_id": every.pk, "enabled": True},
        report=report,
    )
    every, _ = IntervalSchedule.objects.get_or_create(
        every=settings.OPS_MONITORING_APPLY_INTERVAL, period=IntervalSchedule.SECONDS
    )
    seed_row(
        PeriodicTask,
        lookup={"name": "Monitoring: regenerate Prometheus and Alertmanager configuration"},
        values={"task": strategy.APPLY_TASK, "interval_id": every.pk, "enabled": True, "kwargs": '{"force": false}'},
        report=report,
    )
