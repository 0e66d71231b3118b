from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from backups import conf, services, strategy
from backups.models import AssetBucket, BackupPolicy, ProtectedDatabase, ServiceTier
from core.seeding import seed_row
from environments.public import Environment


def seed(report):
    for order, (name, tier, rto_minutes, database, tables, checksum) in enumerate(strategy.SERVICES):
        seed_row(
            ServiceTier,
            lookup={"name": name},
            values={"tier": tier, "rto_minutes": rto_minutes, "database_name": database, "row_count_tables": tables,
                    "checksum_query": checksum, "order": order},
            report=report,
        )  # fmt: skip

    policy_values = dict(strategy.POLICY)
    policy = seed_row(BackupPolicy, lookup={"name": policy_values.pop("name")}, values=policy_values, report=report)

    production = Environment.objects.filter(key="production").first()
    if production is not None and policy is not None:
        seed_row(
            ProtectedDatabase,
            lookup={"environment": production},
            values={**strategy.PRODUCTION_DATABASE, "policy_id": policy.pk},
            report=report,
        )
    for key, name, region in strategy.BUCKETS:
        environment = Environment.objects.filter(key=key).first()
        if environment is not None:
            seed_row(AssetBucket, lookup={"name": name}, values={"environment_id": environment.pk, "region": region},
                     report=report)  # fmt: skip

    if policy is not None:
        services.apply_policy_schedule(policy)

    # Jobs that do not depend on the policy: RPO every minute, reconcile, bucket check daily.
    rpo_every, _ = IntervalSchedule.objects.get_or_create(
        every=conf.rpo_check_interval(), period=IntervalSchedule.SECONDS
    )
    reconcile_every, _ = IntervalSchedule.objects.get_or_create(
        every=conf.reconcile_interval(), period=IntervalSchedule.SECONDS
    )
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="4", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    for name, task, values in [
        ("Backups: RPO check", strategy.RPO_TASK, {"interval_id": rpo_every.pk}),
        ("Backups: reconcile dead runs", strategy.RECONCILE_TASK, {"interval_id": reconcile_every.pk}),
        ("Backups: asset bucket check", strategy.BUCKET_TASK, {"crontab_id": daily.pk}),
    ]:
        seed_row(PeriodicTask, lookup={"name": name}, values={"task": task, "enabled": True, **values}, report=report)
