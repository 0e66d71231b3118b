from django_celery_beat.models import CrontabSchedule, PeriodicTask

from core.seeding import seed_row
from environments.public import Environment
from refreshes import conf, rules
from refreshes.models import DataTarget, MaskingRule
from refreshes.tasks import DEV_RESET_TASK, STAGING_REFRESH_TASK


def seed(report):
    for key, var in rules.DATA_TARGETS.items():
        environment = Environment.objects.filter(key=key).first()
        if environment is not None:
            seed_row(
                DataTarget,
                lookup={"environment": environment},
                values={"dsn_env_var": var, "masking_key_env_var": conf.MASKING_KEY_VAR},
                report=report,
            )
    for qualified, column, strategy, params, note in rules.RULES:
        schema, table = rules.split_table(qualified)
        seed_row(
            MaskingRule,
            lookup={"schema": schema, "table": table, "column": column},
            values={"strategy": str(strategy), "params": params, "note": note},
            report=report,
        )
    # §2: staging refreshed weekly, dev reset nightly. Times are UTC, outside the business day.
    weekly, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="2", day_of_week="0", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="1", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    seed_row(
        PeriodicTask,
        lookup={"name": "Staging refresh (weekly)"},
        values={"task": STAGING_REFRESH_TASK, "crontab_id": weekly.pk, "enabled": True},
        report=report,
    )
    seed_row(
        PeriodicTask,
        lookup={"name": "Dev reset (nightly)"},
        values={"task": DEV_RESET_TASK, "crontab_id": nightly.pk, "enabled": True},
        report=report,
    )
