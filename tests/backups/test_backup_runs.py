"""Backups on real parts: a PostgreSQL cluster archiving WAL, pgBackRest, a real Celery worker."""

import os
from pathlib import Path

import pytest
from django.test import override_settings

from backups import services
from backups.choices import AlertKind, RunStatus
from backups.exceptions import BackupRefused
from backups.models import BackupRun
from tests.backups.conftest import backup_alert
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _finished(run):
    run.refresh_from_db()
    return run.status in (RunStatus.GOOD, RunStatus.FAILED) and run


def test_backup__full_then_writes_then_incr__incr_based_on_full_and_info_recorded(worker, protected, pg_cluster):
    # Given a full backup taken by the worker
    full = services.request_backup(database_id=protected.pk, backup_type="full", actor="test")
    wait_until(lambda: _finished(full), timeout=120, what="the full backup")
    assert full.status == RunStatus.GOOD, full.error
    # When rows are written and an incremental follows
    pg_cluster.sql("insert into orders (total) select g from generate_series(1, 500) g", dbname="checkout")
    incr = services.request_backup(database_id=protected.pk, backup_type="incr", actor="test")
    wait_until(lambda: _finished(incr), timeout=120, what="the incremental backup")

    # Then the incremental is good, based on the full, and pgBackRest's info is recorded on both runs
    assert incr.status == RunStatus.GOOD, incr.error
    assert incr.prior_label == full.label
    assert incr.label.startswith(full.label + "_") and incr.label.endswith("I")
    for run in (full, incr):
        assert run.repos_reached == [1, 2]
        assert set(run.labels) == {"1", "2"}
        assert run.size_bytes > 0 and run.repo_size_bytes > 0
        assert run.wal_start and run.wal_stop >= run.wal_start
        assert run.started_at <= run.finished_at
        assert [e.new_status for e in run.events.all()] == ["queued", "running", "good"]


def test_request_backup__one_already_in_flight__refused_by_the_database(protected):
    first = services.request_backup(database_id=protected.pk, backup_type="full", actor="test", enqueue=False)

    with pytest.raises(BackupRefused, match=f"already in flight \\(run #{first.pk}"):
        services.request_backup(database_id=protected.pk, backup_type="incr", actor="test", enqueue=False)
    assert BackupRun.objects.filter(database=protected).count() == 1


def test_request_backup__unknown_type__clear_message_and_nothing_created(protected):
    with pytest.raises(BackupRefused, match="Unknown backup type 'differential'"):
        services.request_backup(database_id=protected.pk, backup_type="differential", actor="test", enqueue=False)
    assert not BackupRun.objects.exists()


def test_execute_backup__pgbackrest_missing__run_failed_with_clear_error(protected):
    run = services.request_backup(database_id=protected.pk, backup_type="full", actor="test", enqueue=False)

    with override_settings(OPS_BACKUPS_PGBACKREST="/nonexistent/pgbackrest"):
        run = services.execute_backup(run_id=run.pk)

    assert run.status == RunStatus.FAILED
    assert "pgBackRest is not installed: /nonexistent/pgbackrest not found" in run.error
    assert backup_alert(AlertKind.BACKUP_FAILED)


def test_execute_backup__called_twice__second_call_does_not_run_it_again(protected):
    run = services.request_backup(database_id=protected.pk, backup_type="full", actor="test", enqueue=False)
    with override_settings(OPS_BACKUPS_PGBACKREST="/nonexistent/pgbackrest"):
        services.execute_backup(run_id=run.pk)
    again = services.execute_backup(run_id=run.pk)

    assert again.status == RunStatus.FAILED
    assert run.events.filter(new_status=RunStatus.RUNNING).count() == 1


def _pgbackrest_running(database):
    # By its configuration file, which is this session's own: another test session may back up a same-named stanza.
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            cmdline
            and cmdline[0].endswith(b"pgbackrest")
            and b"backup" in cmdline
            and f"--config={database.config_path}".encode() in cmdline
        ):
            return True
    return False


def test_worker_killed_mid_backup__run_failed_never_good__next_run_succeeds(worker, dedicated_worker, protected):
    from backups.tasks import run_backup

    # Given a backup that waits for a checkpoint (start-fast off), so it is surely mid-way when the worker dies
    protected.start_fast = False
    protected.save(update_fields=["start_fast"])
    run = services.request_backup(database_id=protected.pk, backup_type="full", actor="test", enqueue=False)
    run_backup.apply_async((run.pk,), queue=dedicated_worker.QUEUE)
    wait_until(lambda: _pgbackrest_running(protected), timeout=60, what="pgBackRest running the backup")
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING

    # When the whole worker is killed with SIGKILL
    dedicated_worker.kill_group()
    wait_until(lambda: not _pgbackrest_running(protected), timeout=20, what="pgBackRest gone with its worker")
    # The pool child that claimed the run is not the process `kill_group` waits for; under load it may still be exiting.
    wait_until(lambda: not services._pid_alive(run.worker_pid), timeout=20, what="the claiming pool process gone")

    # Then the reconcile job fails the run, and it was never good
    assert services.reconcile_runs() == [run.pk]
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "worker died mid-backup" in run.error
    assert not run.events.filter(new_status=RunStatus.GOOD).exists()

    # And the next run succeeds: no stale lock, no stale in-flight row
    protected.start_fast = True
    protected.save(update_fields=["start_fast"])
    after = services.request_backup(database_id=protected.pk, backup_type="full", actor="test")
    wait_until(lambda: _finished(after), timeout=120, what="the next backup")
    assert after.status == RunStatus.GOOD, after.error


def test_reconcile_runs__worker_alive_and_beating__left_running(protected):
    run = services.request_backup(database_id=protected.pk, backup_type="full", actor="test", enqueue=False)
    assert services._claim(run.pk)  # claimed by this very process, which is alive

    assert services.reconcile_runs() == []
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING


def test_check_stanza__real_cluster__passed_and_recorded(protected):
    database = services.check_stanza(database_id=protected.pk)

    assert database.last_check_ok, database.last_check_detail
    assert database.last_check_detail == "check passed on repo1 and repo2"
    assert Path(database.config_path).read_text().startswith("# Generated by the AMARISÉ Ops Console")


def test_check_stanza__wrong_port__failed_with_the_engines_reason(protected, pg_cluster):
    protected.port = 1
    protected.save(update_fields=["port"])

    try:
        database = services.check_stanza(database_id=protected.pk)
    finally:
        pg_cluster.engine.write_config()  # the cluster's archive_command reads this file

    assert database.last_check_ok is False
    assert database.last_check_detail.startswith("pgBackRest error")
