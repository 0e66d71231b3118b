"""Thin tasks: ids in, one service call, a short result. Safe to run twice (runs and drills are claimed)."""

from celery import shared_task

from backups import buckets, drills, monitor, services, strategy
from backups.models import AssetBucket, ProtectedDatabase
from core.task_base import OpsTask


@shared_task(base=OpsTask, name="backups.run_backup")
def run_backup(run_id: int) -> str:
    run = services.execute_backup(run_id=run_id)
    return f"run #{run.pk} {run.type}: {run.status}{' (' + run.error[:120] + ')' if run.error else ''}"


@shared_task(base=OpsTask, name=strategy.FULL_TASK)
def run_scheduled_backups(policy_id: int, type: str) -> str:  # noqa: A002 - the beat kwarg's name
    return "; ".join(services.run_scheduled(policy_id=policy_id, backup_type=type)) or "no databases"


@shared_task(base=OpsTask, name="backups.check_stanza")
def check_stanza(database_id: int) -> str:
    database = services.check_stanza(database_id=database_id)
    return f"{database.stanza}: {'ok' if database.last_check_ok else 'failed'}"


@shared_task(base=OpsTask, name="backups.verify_database")
def verify_database(database_id: int) -> str:
    outcomes = services.verify_database(database_id=database_id)
    return ", ".join(f"repo{o.repo} {'ok' if o.ok else 'ERRORS'}" for o in outcomes)


@shared_task(base=OpsTask, name=strategy.VERIFY_TASK)
def verify_all(policy_id: int | None = None) -> str:
    ids = _databases(policy_id)
    for pk in ids:
        services.request_verify(database_id=pk)
    return f"enqueued {len(ids)} verifies"


@shared_task(base=OpsTask, name="backups.run_drill")
def run_drill(drill_id: int) -> str:
    drill = drills.execute(drill_id=drill_id)
    return f"drill #{drill.pk}: {drill.status}, RTO {drill.measured_rto}"


@shared_task(base=OpsTask, name=strategy.DRILL_TASK)
def drill_all(policy_id: int | None = None) -> str:
    ids = _databases(policy_id)
    for pk in ids:
        drills.request_drill(database_id=pk, actor="beat")
    return f"requested {len(ids)} drills"


@shared_task(base=OpsTask, name="backups.check_rpo")
def check_rpo(database_id: int) -> str:
    check = monitor.check_rpo(database_id=database_id)
    aged = monitor.check_backup_age(database_id=database_id)
    regions = monitor.check_regions(database_id=database_id)
    aged += [regions] if regions else []
    return f"{'ok' if check.ok else 'RED'}: {check.detail}" + (f"; {'; '.join(aged)}" if aged else "")


@shared_task(base=OpsTask, name=strategy.RPO_TASK)
def check_rpo_all() -> str:
    ids = _databases(None)
    for pk in ids:
        services.request_rpo_check(database_id=pk)
    return f"enqueued {len(ids)} RPO checks"


@shared_task(base=OpsTask, name=strategy.RECONCILE_TASK)
def reconcile_runs() -> str:
    failed = services.reconcile_runs()
    return f"failed {len(failed)} dead runs" if failed else "nothing to reconcile"


@shared_task(base=OpsTask, name="backups.check_bucket")
def check_bucket(bucket_id: int) -> str:
    bucket = buckets.check_bucket(bucket_id=bucket_id)
    return f"{bucket.name}: {'ok' if bucket.last_ok else '; '.join(bucket.last_findings)}"


@shared_task(base=OpsTask, name=strategy.BUCKET_TASK)
def check_buckets() -> str:
    ids = list(AssetBucket.objects.values_list("pk", flat=True))
    for pk in ids:
        services.request_bucket_check(bucket_id=pk)
    return f"enqueued {len(ids)} bucket checks"


def _databases(policy_id):
    databases = ProtectedDatabase.objects.filter(enabled=True)
    if policy_id is not None:
        databases = databases.filter(policy_id=policy_id)
    return list(databases.values_list("pk", flat=True))
