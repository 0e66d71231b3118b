"""Retention as data: seeded periods, batched idempotent prunes with a run row each, run by beat, admin and command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from core.seeding import SeedReport
from retention import seeds, services
from retention.models import PruneRun, RetentionPolicy

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def policy():
    return RetentionPolicy.objects.create(table="django_celery_results.TaskResult", time_field="date_done", keep_days=1,
                                          batch_size=2)  # fmt: skip


def results(n, *, age):
    ids = [TaskResult.objects.create(task_id=f"t-{age.total_seconds()}-{i}", status="SUCCESS").pk for i in range(n)]
    TaskResult.objects.filter(pk__in=ids).update(date_done=NOW - age)  # date_done is auto_now: set it after
    return ids


def test_cutoff_for__kept_or_disabled_none__else_now_minus_period():
    assert services.cutoff_for(RetentionPolicy(keep_days=None), NOW) is None
    assert services.cutoff_for(RetentionPolicy(keep_days=30, enabled=False), NOW) is None
    assert services.cutoff_for(RetentionPolicy(keep_days=30), NOW) == NOW - timedelta(days=30)


def test_prune__old_rows_go_in_batches__run_row_counts_them__second_run_removes_nothing(policy):
    # Given 5 results older than the day kept and 2 recent ones
    results(5, age=timedelta(days=3))
    recent = results(2, age=timedelta(hours=1))
    # When the policy is pruned (batches of 2)
    run = services.prune(policy_id=policy.pk, started_by="test")
    # Then the old rows are gone, the recent kept, and the run says what went
    assert sorted(TaskResult.objects.values_list("pk", flat=True)) == sorted(recent)
    assert (run.removed, run.batches, run.status, run.table) == (5, 3, "done", "django_celery_results.TaskResult")
    # And running it again removes nothing (idempotent), with a row of its own
    again = services.prune(policy_id=policy.pk)
    assert (again.removed, again.status) == (0, "done") and PruneRun.objects.count() == 2


def test_prune__a_run_of_the_policy_in_flight__returned_not_doubled(policy):
    running = PruneRun.objects.create(policy=policy, table=policy.table, cutoff=NOW, started_at=NOW)
    results(1, age=timedelta(days=3))
    assert services.prune(policy_id=policy.pk, now=NOW + timedelta(minutes=5)) == running
    assert TaskResult.objects.count() == 1


def test_prune__kept_table__nothing_removed_no_run(policy):
    policy.keep_days = None
    policy.save()
    results(1, age=timedelta(days=400))
    assert services.prune(policy_id=policy.pk) is None
    assert TaskResult.objects.count() == 1 and not PruneRun.objects.exists()


@pytest.mark.parametrize(
    ("table", "field", "word"),
    [("nope.Model", "at", "No model"), ("backups.RpoCheck", "when", "no field"), ("backups.RpoCheck", "ok", "date")],
)
def test_policy__bad_table_or_field__clear_message(table, field, word):
    with pytest.raises(ValidationError) as refused:
        RetentionPolicy(table=table, time_field=field, keep_days=3).full_clean()
    assert word in str(refused.value)


def test_request_prune__without_permission__refused_nothing_queued(policy, make_user, monkeypatch):
    queued = []
    monkeypatch.setattr(services, "enqueue", lambda *args: queued.append(args))
    with pytest.raises(PermissionDenied):
        services.request_prune(actor=make_user("viewer"), policy_ids=[policy.pk])
    assert queued == []
    assert services.request_prune(actor=make_user("ops", "retention.run_prune"), policy_ids=[policy.pk]) == 1
    assert queued == [(services.PRUNE_TASK, policy.pk)]


def test_admin_action__prune_now__enqueues_and_says_so(policy, admin_client, monkeypatch):
    queued = []
    monkeypatch.setattr(services, "enqueue", lambda *args: queued.append(args))
    response = admin_client.post("/admin/retention/retentionpolicy/",
                                 {"action": "prune_now", "_selected_action": [policy.pk]}, follow=True)  # fmt: skip
    assert response.status_code == 200 and "1 prune(s) queued" in response.content.decode()
    assert queued == [(services.PRUNE_TASK, policy.pk)]
    assert admin_client.get("/admin/retention/prunerun/").status_code == 200


def test_command__prunes_by_hand__unknown_table_refused(policy):
    results(3, age=timedelta(days=3))
    out = StringIO()
    call_command("prune_retention", "--table", policy.table, stdout=out)
    assert "3 rows" in out.getvalue() and TaskResult.objects.count() == 0
    with pytest.raises(CommandError, match="No enabled retention policy for nope.X"):
        call_command("prune_retention", "--table", "nope.X")


def test_tasks__beat_fans_out_one_keyed_prune_per_pruning_policy(policy, monkeypatch):
    from retention import tasks

    queued = []
    monkeypatch.setattr(services, "enqueue", lambda *args: queued.append(args))
    RetentionPolicy.objects.create(table="incidents.TimelineEntry", time_field="at", keep_days=None)
    assert tasks.prune_all.run() == 1 and queued == [(services.PRUNE_TASK, policy.pk)]
    results(1, age=timedelta(days=3))
    assert tasks.prune.run(policy.pk) == 1
    assert tasks.prune.queue == "data" and tasks.prune_all.queue == "data"


def test_seed__issue_periods_and_hourly_beat_job():
    seeds.seed(SeedReport())
    seeded = {p.table: p.keep_days for p in RetentionPolicy.objects.all()}
    assert seeded["backups.RpoCheck"] == 30 and seeded["deployments.MetricSample"] == 30
    assert seeded["incidents.TimelineEntry"] is None
    for policy in RetentionPolicy.objects.all():
        policy.full_clean()  # every seeded table and field exists
    assert PeriodicTask.objects.get(name="Retention: prune old rows").task == "retention.prune_all"


def test_prune_run_list__says_how_long_each_run_took(policy, admin_client):
    started = NOW - timedelta(hours=1)
    PruneRun.objects.create(policy=policy, table=policy.table, cutoff=NOW, started_at=started,
                            finished_at=started + timedelta(seconds=3.25), status="done")  # fmt: skip
    PruneRun.objects.create(policy=policy, table=policy.table, cutoff=NOW, started_at=NOW)
    page = admin_client.get("/admin/retention/prunerun/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Took" in body and "3.2 s" in body and "running" in body
