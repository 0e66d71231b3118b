from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.seeding import seed_row
from environments import strategy
from environments.models import Environment, RequiredVariable


def seed(report):
    environments = {}
    for values in strategy.ENVIRONMENTS:
        values = dict(values)
        key = values.pop("key")
        environments[key] = seed_row(Environment, lookup={"key": key}, values=values, report=report)

    for name, scope, keys, expected, secret, description in strategy.REQUIRED_VARIABLES:
        for key in keys:
            seed_row(
                RequiredVariable,
                lookup={"environment": environments[key], "name": name},
                values={"scope": scope, "expected_value": expected, "secret": secret, "description": description},
                report=report,
            )

    every, _ = IntervalSchedule.objects.get_or_create(
        every=settings.OPS_HEALTH_CHECK_INTERVAL, period=IntervalSchedule.SECONDS
    )
    seed_row(
        PeriodicTask,
        lookup={"name": "Environment health checks"},
        values={"task": strategy.HEALTH_CHECK_TASK, "interval_id": every.pk, "enabled": True},
        report=report,
    )
