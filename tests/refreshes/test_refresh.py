"""The staging refresh through a real Celery worker: determinism, guards, fail closed, crash safety."""

from datetime import timedelta

import psycopg
import pytest
from django.utils import timezone

from environments.models import Environment
from refreshes import services
from refreshes.choices import RunKind, RunStatus, StepStatus
from refreshes.models import DataTarget, RefreshRun, RefreshStep
from tests.conftest import wait_until
from tests.refreshes.conftest import OTHER_KEY_VAR, VARS, databases_like, db_url, query, run_directly


def _refresh_through_worker():
    run = services.start_run(kind=RunKind.STAGING_REFRESH, requested_by="test")  # enqueued on commit
    return wait_until(
        lambda: (
            RefreshRun.objects.filter(pk=run.pk, finished_at__isnull=False, steps__name="cleanup")
            .exclude(steps__status__in=[StepStatus.PENDING, StepStatus.RUNNING])
            .first()
        ),
        timeout=90,
        what=f"refresh run {run.pk} to finish",
    )


def _age(run, *, hours):
    """As if the run's last sign of life were `hours` ago."""
    past = timezone.now() - timedelta(hours=hours)
    RefreshRun.objects.filter(pk=run.pk).update(created_at=past, started_at=past)
    RefreshStep.objects.filter(run_id=run.pk).exclude(started_at=None).update(started_at=past, finished_at=past)


def _pseudonyms(staging):
    return query(staging, "SELECT id, email, first_name, last_name, phone, birth_date FROM customers ORDER BY id")


def test_staging_refresh__same_key_twice__same_pseudonyms_and_another_key_others(
    worker, targets_tx, production, staging_name
):
    first = _refresh_through_worker()
    assert first.status == RunStatus.SUCCEEDED, first.error
    masked_once = _pseudonyms(staging_name)

    second = _refresh_through_worker()
    assert second.status == RunStatus.SUCCEEDED, second.error
    assert _pseudonyms(staging_name) == masked_once

    DataTarget.objects.filter(environment__key="staging").update(masking_key_env_var=OTHER_KEY_VAR)
    third = _refresh_through_worker()
    assert third.status == RunStatus.SUCCEEDED, third.error
    other = _pseudonyms(staging_name)
    assert len(other) == len(masked_once)
    assert sum(a[1] != b[1] for a, b in zip(other, masked_once, strict=True)) == len(other)  # every email differs
    # every step was recorded with its duration, and the scratch copies are gone
    assert all(s.duration_ms is not None for s in third.steps.all())
    for run in (first, second, third):
        assert databases_like(f"_{run.pk}_{run.token}") == []


def test_staging_refresh__unruled_column__fails_closed_and_staging_untouched(
    worker, targets_tx, mutable_production, staging_name
):
    assert _refresh_through_worker().status == RunStatus.SUCCEEDED
    before = _pseudonyms(staging_name)
    with psycopg.connect(db_url(mutable_production)) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN loyalty_nickname text DEFAULT 'Kalomira'")

    run = _refresh_through_worker()
    assert run.status == RunStatus.FAILED
    assert "customers.loyalty_nickname" in run.error and "fail closed" in run.error and "look personal" in run.error
    assert run.steps.get(name="copy").status == StepStatus.SKIPPED
    assert _pseudonyms(staging_name) == before


def test_staging_refresh__target_is_production__refused(worker, targets_tx, production, monkeypatch):
    # The worker reads the variable; point staging's variable name at production's instead.
    DataTarget.objects.filter(environment__key="staging").update(dsn_env_var=VARS["production"])
    prod_before = query(production, "SELECT email FROM customers ORDER BY id")
    run = _refresh_through_worker()
    assert run.status == RunStatus.FAILED
    assert "it is production's database" in run.error
    assert query(production, "SELECT email FROM customers ORDER BY id") == prod_before


def test_staging_refresh__killed_between_steps__staging_as_it_was_then_resume_completes(
    worker, targets_tx, mutable_production, staging_name
):
    assert _refresh_through_worker().status == RunStatus.SUCCEEDED
    before = _pseudonyms(staging_name)
    with psycopg.connect(db_url(mutable_production)) as conn:  # production moves on
        conn.execute("UPDATE customers SET email = 'moved.on@example.com' WHERE id = 1")

    # A worker that dies after verify (the chain never reaches load): only the steps it did are done.
    run = run_directly(RunKind.STAGING_REFRESH, until="verify")
    assert run.status == RunStatus.RUNNING
    assert _pseudonyms(staging_name) == before
    assert databases_like(f"scratch_{run.pk}_{run.token}") != []

    with pytest.raises(services.RefreshError, match="still running"):  # too soon: the worker may be alive
        services.resume_run(run_id=run.pk)
    _age(run, hours=2)  # an hour without activity: the worker is gone
    services.resume_run(run_id=run.pk)  # on commit: the worker takes the remaining steps
    run = wait_until(
        lambda: RefreshRun.objects.filter(pk=run.pk, status=RunStatus.SUCCEEDED).first(), timeout=60, what="resume"
    )
    after = _pseudonyms(staging_name)
    assert after != before and len(after) == len(before)
    assert databases_like(f"_{run.pk}_{run.token}") == []


def test_staging_refresh__email_mode_not_capture__refused(worker, targets_tx, production, staging_name):
    Environment.objects.filter(key="staging").update(email="sandbox")
    run = _refresh_through_worker()
    assert run.status == RunStatus.FAILED and "Sandbox with capture" in run.error
    assert databases_like(staging_name) == []


def test_start_run__while_one_is_going__refused(targets, production):
    services.start_run(kind=RunKind.STAGING_REFRESH)
    with pytest.raises(services.RefreshError, match="still going"):
        services.start_run(kind=RunKind.STAGING_REFRESH)
