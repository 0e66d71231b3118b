from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.seeding import seed_row
from environments.public import Environment
from flags import conf, strategy
from flags.models import Flag, FlagState


def seed(report):
    environments = {e.key: e for e in Environment.objects.filter(key__in=strategy.ENVIRONMENTS)}
    for key, category, description, kind, owner in strategy.FLAGS:
        flag = seed_row(
            Flag,
            lookup={"key": key},
            values={"category": category, "description": description, "kind": kind, "owner": owner},
            report=report,
        )
        if flag is None:  # an operator deleted it; it stays deleted
            continue
        for env_key, environment in environments.items():
            seed_row(
                FlagState,
                lookup={"flag": flag, "environment": environment},
                values={"enabled": strategy.planned_value(key, env_key)},
                report=report,
            )

    every, _ = IntervalSchedule.objects.get_or_create(every=conf.schedule_interval(), period=IntervalSchedule.SECONDS)
    seed_row(
        PeriodicTask,
        lookup={"name": "Apply scheduled flag changes"},
        values={"task": strategy.APPLY_SCHEDULED_TASK, "interval_id": every.pk, "enabled": True},
        report=report,
    )
