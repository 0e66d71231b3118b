from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from core.seeding import seed_row
from environments.public import Environment
from secrets_registry import conf, strategy
from secrets_registry.models import SecretReference, ServiceAccount


def seed(report):
    accounts = {}
    for name, kind, principal, description in strategy.SERVICE_ACCOUNTS:
        accounts[name] = seed_row(
            ServiceAccount, lookup={"name": name}, report=report,
            values={"kind": kind, "principal_arn": principal.format(account=conf.account_id()),
                    "description": description},
        )  # fmt: skip

    production = Environment.objects.filter(key="production").first()
    if production is not None:
        for variable, owner, kind, readers, extra in strategy.PRODUCTION_SECRETS:
            values = {"name": conf.name_for(production.key, variable), "region": conf.region(), "owner": owner,
                      "rotation_kind": kind, **extra}  # fmt: skip
            if "rotation_target" in extra:
                values["target_environment_id"] = production.pk
            new = not SecretReference.objects.filter(environment=production, variable=variable).exists()
            reference = seed_row(SecretReference, lookup={"environment": production, "variable": variable},
                                 values=values, report=report)  # fmt: skip
            if new and reference is not None:
                reference.allowed_readers.set([accounts[r] for r in readers if accounts.get(r) is not None])

    daily_check, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="5", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    daily_rotate, _ = CrontabSchedule.objects.get_or_create(
        minute="45", hour="5", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    resume_every, _ = IntervalSchedule.objects.get_or_create(every=conf.stale_after(), period=IntervalSchedule.SECONDS)
    for name, task, values in [
        ("Secrets: existence and drift check", strategy.CHECK_TASK, {"crontab_id": daily_check.pk}),
        ("Secrets: rotate what is due", strategy.ROTATE_DUE_TASK, {"crontab_id": daily_rotate.pk}),
        ("Secrets: resume stalled rotations", strategy.RESUME_TASK, {"interval_id": resume_every.pk}),
    ]:
        seed_row(PeriodicTask, lookup={"name": name}, values={"task": task, "enabled": True, **values}, report=report)
