"""Restores on real parts: point in time, drills that measure the RTO, verify and the cross-region copy."""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from backups import drills, services
from backups.choices import AlertKind, DrillKind, DrillStatus, RunStatus, Verification
from backups.drivers.cluster import Cluster, free_port
from backups.exceptions import BackupRefused
from backups.models import BackupRun, RestoreDrill, ServiceTier
from tests.backups.cluster import BIN, OS_USER
from tests.backups.conftest import backup_alert
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _run_for(database, labels):
    """The run row of the session's base backup (rows are flushed between tests, the repositories are not)."""
    now = timezone.now()
    return BackupRun.objects.create(database=database, type="full", status=RunStatus.GOOD, label=labels["1"],
                                    labels=labels, repos_reached=[1, 2], started_at=now, finished_at=now)  # fmt: skip


def _start_restored(directory):
    cluster = Cluster(bin_dir=BIN, data_directory=directory, port=free_port(), socket_directory=directory,
                      os_user=OS_USER)  # fmt: skip
    cluster.start("archive_mode=off")
    cluster.wait_serving(60)
    return cluster


def test_restore_point_in_time__marker_written_then_table_dropped__both_there_after_restore(
    protected, pg_cluster, base_backup
):
    # Given a backup, then a marker row written at T, then a table dropped after T
    pg_cluster.sql("create table if not exists pitr_marker (note text)", dbname="journal")
    pg_cluster.sql("create table if not exists doomed (id int)", dbname="journal")
    pg_cluster.sql("insert into pitr_marker values ('written before T')", dbname="journal")
    target = pg_cluster.sql("select clock_timestamp()")[0][0]
    pg_cluster.sql("drop table doomed", dbname="journal")
    pg_cluster.sql("delete from pitr_marker", dbname="journal")
    pg_cluster.switch_and_wait_archived()

    # When a person restores T into a new directory
    restore = drills.request_restore(database_id=protected.pk, actor="ops", target_time=target,
                                     reason="drop of doomed by mistake", confirmation=protected.stanza,
                                     enqueue=False)  # fmt: skip
    restore = drills.execute(drill_id=restore.pk)

    # Then the new directory holds the marker and the table, and the live cluster was not touched
    assert restore.status == DrillStatus.PASSED, restore.error
    assert restore.kind == DrillKind.RESTORE and restore.requested_by == "ops"
    assert restore.reason == "drop of doomed by mistake"
    assert restore.recovery_point == target and restore.backup_label
    directory = Path(restore.target_directory)
    assert directory != pg_cluster.data and directory.is_dir()
    cluster = _start_restored(directory)
    try:
        with cluster.connect("journal") as conn:
            assert conn.execute("select note from pitr_marker").fetchall() == [("written before T",)]
            assert conn.execute("select to_regclass('doomed') is not null").fetchone()[0]
    finally:
        cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
    assert pg_cluster.sql("select to_regclass('doomed')", dbname="journal")[0][0] is None


def test_restore_drill_command__target_time__recovery_point_is_the_last_transaction_replayed(
    protected, pg_cluster, base_backup, capsys
):
    # Given a backup, then a marker row committed before T and another committed after T
    count = "select count(*) from entries"
    before = pg_cluster.sql(count, dbname="journal")[0][0]
    started = pg_cluster.sql("insert into entries (body) values ('before T') returning clock_timestamp()",
                             dbname="journal")[0][0]  # fmt: skip
    target = pg_cluster.sql("select clock_timestamp()")[0][0]
    wait_until(lambda: pg_cluster.sql("select clock_timestamp() > %s", params=[target])[0][0], what="T to pass")
    pg_cluster.sql("insert into entries (body) values ('after T')", dbname="journal")
    after = pg_cluster.sql("select clock_timestamp()")[0][0]
    pg_cluster.switch_and_wait_archived()

    # When the drill restores T
    call_command("restore_drill", "production", "--target-time", target.isoformat())

    # Then the copy held the marker before T only, and the recovery point is a commit replayed, at or before T
    drill = RestoreDrill.objects.get()
    out = capsys.readouterr().out
    journal = next(r for r in drill.results if r["service"] == "Journal")
    assert journal["counts"] == {"entries": before + 1}
    assert started <= drill.recovery_point <= target < after, (started, drill.recovery_point, target, after)
    assert f"recovery point {drill.recovery_point} (the last transaction replayed)" in out


def test_request_restore__wrong_confirmation__refused_and_nothing_created(protected):
    with pytest.raises(BackupRefused, match=f"Type the stanza name '{protected.stanza}'"):
        drills.request_restore(database_id=protected.pk, actor="ops", target_time=timezone.now(), reason="because",
                               confirmation="production", enqueue=False)  # fmt: skip
    with pytest.raises(BackupRefused, match="Say why"):
        drills.request_restore(database_id=protected.pk, actor="ops", target_time=timezone.now(), reason="  ",
                               confirmation=protected.stanza, enqueue=False)  # fmt: skip
    with pytest.raises(BackupRefused, match="in the future"):
        drills.request_restore(database_id=protected.pk, actor="ops", reason="why",
                               target_time=timezone.now() + timedelta(hours=1), confirmation=protected.stanza,
                               enqueue=False)  # fmt: skip
    assert not RestoreDrill.objects.exists()


def test_drill__latest_backup__rto_measured_per_tier_and_scratch_cluster_gone(
    worker, protected, pg_cluster, base_backup
):
    # Given a backup
    _run_for(protected, base_backup)

    # When the worker runs a drill
    drill = drills.request_drill(database_id=protected.pk, actor="test")
    wait_until(lambda: RestoreDrill.objects.filter(pk=drill.pk, status__in=["passed", "failed"]).exists(),
               timeout=120, what="the drill")  # fmt: skip
    drill.refresh_from_db()

    # Then it passed, its RTO was measured and compared with each tier's target, and the scratch cluster is gone
    assert drill.status == DrillStatus.PASSED, (drill.error, drill.results)
    assert timedelta(0) < drill.measured_rto < timedelta(minutes=10)
    assert drill.started_at < drill.serving_at <= drill.finished_at
    assert drill.recovery_point is not None
    by_service = {r["service"]: r for r in drill.results}
    assert set(by_service) == {"Checkout", "Product catalog", "Journal", "Analytics"}
    assert by_service["Checkout"]["rto_target_s"] == 3600 and by_service["Analytics"]["rto_target_s"] == 8 * 3600
    assert all(r["rto_met"] and r["ok"] for r in drill.results)
    assert by_service["Product catalog"]["counts"] == {"products": 20}
    assert by_service["Checkout"]["checksum"]
    assert drill.scratch_removed and not Path(drill.target_directory).exists()


def test_drill__rto_target_missed__failed_with_high_alert_and_scratch_removed(
    worker, protected, pg_cluster, base_backup
):
    ServiceTier.objects.filter(name="Checkout").update(rto_minutes=0)  # an impossible target: 0 minutes

    drill = drills.request_drill(database_id=protected.pk, actor="test", enqueue=False)
    drill = drills.execute(drill_id=drill.pk)

    assert drill.status == DrillStatus.FAILED
    missed = [r["service"] for r in drill.results if not r["rto_met"]]
    assert missed == ["Checkout"]
    alert = backup_alert(AlertKind.RTO_MISSED)
    assert alert.severity == "critical" and f'"drill": {drill.pk}' in alert.summary
    # The incidents app is installed: a High incident opened, with the figures on its timeline.
    from incidents.models import Incident

    incident = Incident.objects.get()
    assert incident.severity.key == "high" and incident.environment_id == protected.environment_id
    assert alert.incident == incident and incident.opened_by == "alert"
    assert incident.timeline.filter(text__contains='"measured_rto_s"').exists()
    assert drill.scratch_removed and not Path(drill.target_directory).exists()
    # and on-call was told: the worker delivered the "opened" notification (done before the test's data goes)
    wait_until(lambda: incident.notifications.filter(event="opened", ok=True).exists(), what="the notification")


def test_verify__file_corrupted_in_repo1__reported_and_repo2_still_restores(protected, pg_cluster, base_backup):
    # Given a good backup on both repositories, and one of its files corrupted in repo1
    run = _run_for(protected, base_backup)
    files = sorted((pg_cluster.repo(1) / "backup" / protected.stanza / run.labels["1"] / "pg_data" / "base").rglob("*"))
    victim = next(f for f in files if f.is_file() and f.stat().st_size > 1000)
    original = victim.read_bytes()
    try:
        victim.write_bytes(original[:100] + b"corrupted by the test" + original[121:])

        # When verify runs
        outcomes = {o.repo: o for o in services.verify_database(database_id=protected.pk)}

        # Then repo1's report names the backup, repo2 is clean, the run is marked and an alert is open
        assert not outcomes[1].ok and f"backup: {run.labels['1']}, status: invalid" in outcomes[1].report
        assert outcomes[2].ok
        run.refresh_from_db()
        assert run.verification == Verification.FAILED
        assert "repo1: errors found" in run.verify_detail and "repo2: valid" in run.verify_detail
        assert backup_alert(AlertKind.VERIFY_FAILED)

        # And a drill from repo2 restores and serves
        drill = drills.request_drill(database_id=protected.pk, actor="test", repo=2, enqueue=False)
        drill = drills.execute(drill_id=drill.pk)
        assert drill.status == DrillStatus.PASSED, (drill.error, drill.results)
        assert drill.backup_label == run.labels["2"]
    finally:
        victim.write_bytes(original)
