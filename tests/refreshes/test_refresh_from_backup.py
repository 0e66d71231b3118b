"""The staging refresh copies production's latest backup, restored on real pgBackRest, not production itself."""

from pathlib import Path

import pytest

from backups import services as backups
from backups.choices import RunStatus as BackupStatus
from backups.models import ProtectedDatabase
from refreshes.admin import describe_source
from refreshes.choices import RunKind, RunStatus, SourceKind
from refreshes.models import DataTarget
from refreshes.sample import generate
from tests.refreshes.conftest import CUSTOMERS, count, databases_like, run_directly
from tests.refreshes.test_refresh import _refresh_through_worker

pytestmark = pytest.mark.django_db(transaction=True)

# Live production holds CUSTOMERS (120); its backup holds fewer, so the counts tell the two sources apart.
BACKED_UP_CUSTOMERS = 40


@pytest.fixture
def backed_up_production(targets_tx, protected, pg_cluster, production):
    """Production's database, under its own name, inside the protected cluster, with a good backup of it."""
    pg_cluster.sql(f'drop database if exists "{production}"')
    pg_cluster.sql(f'create database "{production}"')
    with pg_cluster.connect(production) as conn:
        generate.build(conn, customers=BACKED_UP_CUSTOMERS)
    run = backups.request_backup(database_id=protected.pk, backup_type="incr", actor="test", enqueue=False)
    run = backups.execute_backup(run_id=run.pk)
    assert run.status == BackupStatus.GOOD, run.error
    yield run
    pg_cluster.sql(f'drop database if exists "{production}"')


def _scratch_left(database):
    return sorted(p.name for p in (Path(database.work_dir) / "scratch").glob("refresh-*"))


def test_staging_refresh__from_backup__staging_is_the_backup_masked_and_the_scratch_cluster_gone(
    worker, backed_up_production, staging_name
):
    assert DataTarget.objects.get(environment__key="staging").source_kind == SourceKind.BACKUP_RESTORE

    run = _refresh_through_worker()

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert count(staging_name, "customers") == BACKED_UP_CUSTOMERS != CUSTOMERS
    assert run.leak_scan_passed is True
    source = run.checks["source"]
    assert source["kind"] == "backup_restore" and "fallback" not in source
    assert source["repo"] == 1 and source["backup_label"] == backed_up_production.labels["1"]
    assert source["repo_failures"] == []
    assert source["recovery_point"]  # the last transaction replayed, or the end of the backup
    assert "restored backup " + backed_up_production.labels["1"] in run.steps.get(name="copy").detail
    assert _scratch_left(backed_up_production.database) == []
    # and the run says so in the admin
    assert describe_source(source).startswith(
        f"backup {source['backup_label']} of {source['stanza']}, restored from repo1"
    )


def test_staging_refresh__repo1_unusable__restores_from_repo2(backed_up_production, staging_name, pg_cluster, tmp_path):
    database = backed_up_production.database
    ProtectedDatabase.objects.filter(pk=database.pk).update(repo1_path=str(tmp_path / "empty-repo1"))
    try:
        run = run_directly(RunKind.STAGING_REFRESH)
    finally:
        pg_cluster.engine.write_config()  # the live cluster archives through the same configuration file

    assert run.status == RunStatus.SUCCEEDED, run.error
    source = run.checks["source"]
    assert source["repo"] == 2 and source["backup_label"] == backed_up_production.labels["2"]
    assert len(source["repo_failures"]) == 1 and source["repo_failures"][0].startswith("repo1: ")
    assert count(staging_name, "customers") == BACKED_UP_CUSTOMERS
    assert _scratch_left(database) == []


def test_staging_refresh__no_good_backup__falls_back_to_pg_dump_and_says_why(targets_tx, protected, staging_name):
    run = run_directly(RunKind.STAGING_REFRESH)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert count(staging_name, "customers") == CUSTOMERS  # live production, dumped
    assert run.checks["source"] == {
        "kind": "backup_restore",
        "fallback": "pg_dump",
        "fallback_reason": f"{protected.stanza} has no good backup yet",
    }
    assert "fallback: " in run.steps.get(name="copy").detail
    assert (
        describe_source(run.checks["source"])
        == f"pg_dump of production, because {protected.stanza} has no good backup yet"
    )


def test_staging_refresh__backup_of_another_cluster__fails_and_staging_untouched(
    backed_up_production, staging_name, pg_cluster, production
):
    pg_cluster.sql(f'alter database "{production}" rename to "{production}_elsewhere"')
    run = backups.request_backup(database_id=backed_up_production.database_id, backup_type="incr", actor="test",
                                 enqueue=False)  # fmt: skip
    assert backups.execute_backup(run_id=run.pk).status == BackupStatus.GOOD
    pg_cluster.sql(f'alter database "{production}_elsewhere" rename to "{production}"')

    run = run_directly(RunKind.STAGING_REFRESH)

    assert run.status == RunStatus.FAILED
    assert f"holds no database {production!r}" in run.error
    assert databases_like(staging_name) == []  # nothing was swapped in
    assert _scratch_left(backed_up_production.database) == []
