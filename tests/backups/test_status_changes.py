"""Backup runs and restore drills change status only through core.status: along their map, with an event row."""

import pytest
from django.test import override_settings

import core.status
from backups import drills, services
from backups.choices import DrillStatus, RunStatus
from backups.exceptions import BackupError, InvalidTransition
from backups.models import BackupRun, RestoreDrill
from core.status import change_status

pytestmark = pytest.mark.django_db(transaction=True)

MISSING = "/nonexistent/pgbackrest"  # pgBackRest absent: a run or drill fails at once, its transitions still real


def _statuses(obj):
    return [(e.old_status, e.new_status, e.actor) for e in obj.events.order_by("at", "pk")]


def test_backup_run__transition_outside_its_map__refused_and_nothing_changes(protected):
    run = services.request_backup(database_id=protected.pk, backup_type="full", actor="ops", enqueue=False)
    change_status(run, RunStatus.FAILED, actor="ops", reason="given up")
    events = run.events.count()

    with pytest.raises(InvalidTransition, match=rf"Backup run #{run.pk} is failed; it cannot go to running\."):
        change_status(run, RunStatus.RUNNING, actor="ops")

    run = BackupRun.objects.get(pk=run.pk)
    assert run.status == RunStatus.FAILED
    assert run.events.count() == events
    assert issubclass(InvalidTransition, core.status.InvalidTransition) and issubclass(InvalidTransition, BackupError)


def test_backup_run__moved_to_its_current_status__no_op_without_event(protected):
    run = services.request_backup(database_id=protected.pk, backup_type="full", actor="ops", enqueue=False)

    assert not change_status(run, RunStatus.QUEUED, actor="ops").changed
    assert _statuses(run) == [("", RunStatus.QUEUED, "ops")]


def test_backup_run__claim_of_a_finished_run__refused_quietly_and_nothing_changes(protected):
    run = services.request_backup(database_id=protected.pk, backup_type="full", actor="ops", enqueue=False)
    change_status(run, RunStatus.FAILED, actor="ops")

    assert services._claim(run.pk) is False
    assert BackupRun.objects.get(pk=run.pk).status == RunStatus.FAILED
    assert run.events.count() == 2


def test_restore_drill__transition_outside_its_map__refused_and_nothing_changes(protected):
    drill = drills.request_drill(database_id=protected.pk, actor="ops", enqueue=False)

    with pytest.raises(InvalidTransition, match=rf"Restore drill #{drill.pk} is queued; it cannot go to passed\."):
        change_status(drill, DrillStatus.PASSED, actor="ops")

    assert RestoreDrill.objects.get(pk=drill.pk).status == DrillStatus.QUEUED
    assert _statuses(drill) == [("", DrillStatus.QUEUED, "ops")]


def test_restore_drill__moved_to_its_current_status__no_op_without_event(protected):
    drill = drills.request_drill(database_id=protected.pk, actor="ops", enqueue=False)

    assert not change_status(drill, DrillStatus.QUEUED, actor="ops").changed
    assert drill.events.count() == 1


def test_restore_drill__each_change__event_row_old_new_and_actor(protected):
    drill = drills.request_drill(database_id=protected.pk, actor="ops", enqueue=False)

    with override_settings(OPS_BACKUPS_PGBACKREST=MISSING):
        drill = drills.execute(drill_id=drill.pk)
        again = drills.execute(drill_id=drill.pk)  # a second delivery of the task changes nothing

    assert drill.status == again.status == DrillStatus.FAILED
    worker = services.worker_actor()
    assert _statuses(drill) == [
        ("", DrillStatus.QUEUED, "ops"),
        (DrillStatus.QUEUED, DrillStatus.RUNNING, worker),
        (DrillStatus.RUNNING, DrillStatus.FAILED, worker),
    ]
    assert "pgBackRest is not installed" in drill.events.last().reason


def test_restore_for_real__each_change__event_row_with_the_reason_given(protected):
    from django.utils import timezone

    restore = drills.request_restore(database_id=protected.pk, actor="ops", target_time=timezone.now(),
                                     reason="orders table dropped", confirmation=protected.stanza,
                                     enqueue=False)  # fmt: skip

    with override_settings(OPS_BACKUPS_PGBACKREST=MISSING):
        restore = drills.execute(drill_id=restore.pk)

    assert [(old, new) for old, new, _ in _statuses(restore)] == [
        ("", DrillStatus.QUEUED),
        (DrillStatus.QUEUED, DrillStatus.RUNNING),
        (DrillStatus.RUNNING, DrillStatus.FAILED),
    ]
    assert restore.events.first().reason == "orders table dropped"
