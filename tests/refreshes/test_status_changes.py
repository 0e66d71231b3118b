"""Refresh runs change status only through core.status: along their map, with an event row and their timestamps."""

import pytest

import core.status
from core.status import change_status
from refreshes import services
from refreshes.choices import RunKind, RunStatus
from refreshes.exceptions import InvalidTransition, RefreshError
from refreshes.models import RefreshRun


@pytest.fixture
def run(seeded, env):
    return RefreshRun.objects.create(kind=RunKind.DEV_RESET, environment=env("dev"), requested_by="ops")


def test_refresh_run__transition_outside_its_map__refused_and_nothing_changes(run):
    with pytest.raises(InvalidTransition, match=rf"Refresh run #{run.pk} is pending; it cannot go to succeeded\."):
        change_status(run, RunStatus.SUCCEEDED, actor="ops")

    run = RefreshRun.objects.get(pk=run.pk)
    assert run.status == RunStatus.PENDING and run.finished_at is None
    assert not run.events.exists()
    assert issubclass(InvalidTransition, core.status.InvalidTransition) and issubclass(InvalidTransition, RefreshError)


def test_cancel_run__finished_run__refused_with_clear_error_and_nothing_changes(run):
    services._move(run, RunStatus.RUNNING, "worker picked it up")
    services._move(run, RunStatus.SUCCEEDED, "all steps done")

    with pytest.raises(RefreshError, match="is succeeded; it cannot go to cancelled"):
        services.cancel_run(run_id=run.pk, actor="ops")

    assert RefreshRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED
    assert run.events.count() == 2


def test_cancel_run__already_cancelled__no_op_without_event(run):
    services.cancel_run(run_id=run.pk, actor="ops")
    services.cancel_run(run_id=run.pk, actor="ops")

    assert [(e.old_status, e.new_status, e.actor) for e in run.events.all()] == [
        (RunStatus.PENDING, RunStatus.CANCELLED, "ops")
    ]


def test_refresh_run__running_then_failed__timestamps_error_and_events(run):
    services._move(run, RunStatus.RUNNING, "worker picked it up")
    services._move(run, RunStatus.FAILED, "copy: pg_dump failed")

    run = RefreshRun.objects.get(pk=run.pk)
    assert run.started_at is not None and run.finished_at >= run.started_at
    assert run.error == "copy: pg_dump failed"
    assert [(e.old_status, e.new_status, e.reason) for e in run.events.all()] == [
        (RunStatus.PENDING, RunStatus.RUNNING, "worker picked it up"),
        (RunStatus.RUNNING, RunStatus.FAILED, "copy: pg_dump failed"),
    ]
