"""Resume: only a failed run, or a stale one (its worker gone), is enqueued again; a run still going is refused."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from refreshes import services
from refreshes.choices import STEPS, RunKind, RunStatus, StepStatus
from refreshes.models import RefreshRun, RefreshStep


@pytest.fixture
def running(seeded_module, db, env):
    run = RefreshRun.objects.create(kind=RunKind.STAGING_REFRESH, environment=env("staging"))
    RefreshStep.objects.bulk_create(
        RefreshStep(run=run, name=name, position=i) for i, name in enumerate(STEPS[RunKind.STAGING_REFRESH])
    )
    services._move(run, RunStatus.RUNNING, "worker picked it up")
    RefreshStep.objects.filter(run=run, name="preflight").update(
        status=StepStatus.DONE, started_at=timezone.now(), finished_at=timezone.now()
    )
    RefreshStep.objects.filter(run=run, name="copy").update(status=StepStatus.RUNNING, started_at=timezone.now())
    return run


def _aged(run, minutes):
    past = timezone.now() - timedelta(minutes=minutes)
    RefreshRun.objects.filter(pk=run.pk).update(created_at=past, started_at=past)
    RefreshStep.objects.filter(run=run).exclude(started_at=None).update(started_at=past)
    RefreshStep.objects.filter(run=run).exclude(finished_at=None).update(finished_at=past)


def test_resume_run__still_running__refused_nothing_enqueued(running, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(services, "enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(services.RefreshError, match=r"still running .*drop the scratch database in use"),
    ):
        services.resume_run(run_id=running.pk)
    assert callbacks == [] and not enqueue.called
    assert RefreshRun.objects.get(pk=running.pk).status == RunStatus.RUNNING


def test_resume_run__stale__enqueued(running, django_capture_on_commit_callbacks):
    _aged(running, minutes=61)
    with mock.patch.object(services, "enqueue") as enqueue, django_capture_on_commit_callbacks(execute=True):
        services.resume_run(run_id=running.pk)
    enqueue.assert_called_once_with(running.pk)


def test_resume_run__failed__enqueued(running, django_capture_on_commit_callbacks):
    services._move(running, RunStatus.FAILED, "copy: boom")
    with mock.patch.object(services, "enqueue") as enqueue, django_capture_on_commit_callbacks(execute=True):
        services.resume_run(run_id=running.pk)
    enqueue.assert_called_once_with(running.pk)


@pytest.mark.parametrize("status", [RunStatus.SUCCEEDED, RunStatus.CANCELLED])
def test_resume_run__finished_otherwise__refused(running, status, django_capture_on_commit_callbacks):
    services._move(running, status, "done")
    with (
        mock.patch.object(services, "enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(services.RefreshError, match=f"is {status}; start a new one"),
    ):
        services.resume_run(run_id=running.pk)
    assert not enqueue.called


def test_resume_refusal__no_activity_for_the_period__stale_from_then(running):
    run = RefreshRun.objects.get(pk=running.pk)
    now = services.last_activity(run)
    assert services.resume_refusal(run, now=now + timedelta(minutes=59))
    assert services.resume_refusal(run, now=now + timedelta(minutes=60)) == ""
