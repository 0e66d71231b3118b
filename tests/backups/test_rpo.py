"""The RPO monitor against the real cluster's archiver."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backups import monitor
from backups.choices import AlertKind
from backups.models import RpoCheck
from tests.backups.conftest import backup_alert
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _archiver(pg_cluster):
    return pg_cluster.sql("select failed_count, last_failed_time, last_archived_time from pg_stat_archiver")[0]


def test_check_rpo__archiving_healthy__loss_within_rpo_and_no_alert(protected, pg_cluster):
    pg_cluster.switch_and_wait_archived()

    check = monitor.check_rpo(database_id=protected.pk)

    assert check.ok, check.detail
    assert check.worst_case_loss is not None and check.worst_case_loss <= timedelta(hours=1)
    assert check.archive_timeout == timedelta(seconds=60)
    assert not backup_alert(AlertKind.RPO_BREACH) and not backup_alert(AlertKind.ARCHIVING_FAILED)


def test_check_rpo__archive_command_failing__alert_within_one_check_interval(worker, protected, pg_cluster):
    from backups.tasks import check_rpo

    failures_before = _archiver(pg_cluster)[0]
    pg_cluster.sql("alter system set archive_command = '/bin/false'")
    pg_cluster.sql("select pg_reload_conf()")
    try:
        # Given writes that the archiver now fails to push
        pg_cluster.sql("insert into events (kind) values ('after archiving broke')", dbname="analytics")
        pg_cluster.sql("select pg_switch_wal()")
        wait_until(lambda: _archiver(pg_cluster)[0] > failures_before, timeout=30, what="archive_command failing")

        # When the worker runs one RPO check (beat runs it every interval)
        check_rpo.delay(protected.pk)
        breach = wait_until(
            lambda: backup_alert(AlertKind.RPO_BREACH),
            timeout=30, what="the RPO alert (the check's last write)",
        )  # fmt: skip

        # Then the archiving and RPO alerts are open, with the figures
        alert = backup_alert(AlertKind.ARCHIVING_FAILED)
        assert alert.severity == "critical" and "archiving failing" in alert.summary
        assert breach.severity == "critical" and '"rpo_s": 3600' in breach.summary
        assert breach.labels["stanza"] == protected.stanza and breach.name == "BackupRpoBreached"
        check = RpoCheck.objects.get()
        assert not check.ok and check.archiving_failing and check.unarchived_bytes > 0
    finally:
        pg_cluster.sql("alter system reset archive_command")
        pg_cluster.sql("select pg_reload_conf()")
        wait_until(lambda: (lambda a: a[2] and a[2] > a[1])(_archiver(pg_cluster)), timeout=60,
                   what="archiving to recover")  # fmt: skip

    # And once archiving works again, the next check resolves both alerts
    assert monitor.check_rpo(database_id=protected.pk).ok
    assert not backup_alert(AlertKind.RPO_BREACH) and not backup_alert(AlertKind.ARCHIVING_FAILED)
    breach.refresh_from_db()
    assert breach.status == "resolved" and breach.ends_at is not None


def test_check_rpo__cluster_unreachable__red_with_clear_detail(protected):
    protected.port = 1  # nothing listens there
    protected.save(update_fields=["port"])

    check = monitor.check_rpo(database_id=protected.pk)

    assert not check.ok and check.detail.startswith("cannot read the archiver's state")
    assert backup_alert(AlertKind.RPO_BREACH)


def test_check_backup_age__no_full_in_26h__alert_then_resolved_by_a_recent_run(protected):
    from backups.models import BackupRun

    findings = monitor.check_backup_age(database_id=protected.pk)
    assert any("no good full backup in 26.0 h (none yet)" in f for f in findings)
    assert backup_alert(AlertKind.FULL_TOO_OLD).name == "BackupFullStale"

    BackupRun.objects.create(database=protected, type="full", status="good", label="20260101-000000F",
                             started_at=timezone.now(), finished_at=timezone.now())  # fmt: skip
    assert monitor.check_backup_age(database_id=protected.pk) == []
    assert not backup_alert(AlertKind.FULL_TOO_OLD)
