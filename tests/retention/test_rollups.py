"""Raw RPO checks 30 days, rolled up to hourly for 13 months: each complete hour is rolled up before its raw rows
go (in the same transaction), re-running changes nothing, and roll-ups past their period are pruned in turn."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from backups.models import ProtectedDatabase, RpoCheck, RpoCheckHourly
from backups.rollups import RpoCheckRollup
from retention import services
from retention.models import PruneRun, RetentionPolicy
from retention.rollups import rollup_for

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 10, 37, tzinfo=UTC)
DAY = datetime(2026, 10, 22, tzinfo=UTC)  # 40 days before NOW, at midnight


@pytest.fixture
def database(seeded):
    return ProtectedDatabase.objects.get(environment__key="production")


@pytest.fixture
def policy(seeded):
    return RetentionPolicy.objects.get(table="backups.RpoCheck")


def a_day_of_checks(database, day=DAY):
    """One check a minute. In every hour: minute 30 red, minute 59 cannot know the loss, the loss otherwise
    `minute` seconds and the backlog hour*1000 + minute bytes; at 03:30 archiving was failing."""
    rows = []
    for hour in range(24):
        for minute in range(60):
            rows.append(RpoCheck(
                database=database, checked_at=day + timedelta(hours=hour, minutes=minute), ok=minute != 30,
                worst_case_loss=None if minute == 59 else timedelta(seconds=minute),
                unarchived_bytes=hour * 1000 + minute, archiving_failing=(hour, minute) == (3, 30),
            ))  # fmt: skip
    RpoCheck.objects.bulk_create(rows)


def figures():
    return list(RpoCheckHourly.objects.order_by("database", "hour").values_list(
        "database", "hour", "checks", "failed", "archiving_failing", "loss_unknown", "worst_case_loss",
        "unarchived_bytes"))  # fmt: skip


def test_seeded_policies__raw_30_days__rollups_13_months(policy):
    sample = RetentionPolicy.objects.get(table="deployments.MetricSample")
    assert (policy.keep_days, policy.rollup_keep_days) == (30, 396)
    assert (sample.keep_days, sample.rollup_keep_days) == (30, 396)
    assert RetentionPolicy.objects.get(table="django_celery_results.TaskResult").rollup_keep_days is None
    assert isinstance(rollup_for("backups.RpoCheck"), RpoCheckRollup) and rollup_for("audit.Nope") is None


def test_prune__a_day_of_checks_40_days_old__24_hourly_rows_with_the_aggregates__raw_deleted(database, policy):
    a_day_of_checks(database)
    run = services.prune(policy_id=policy.pk, now=NOW, started_by="test")
    rows = figures()
    assert len(rows) == 24 and not RpoCheck.objects.exists()
    assert rows[0] == (database.pk, DAY, 60, 1, 0, 1, timedelta(seconds=58), 59)
    assert rows[3] == (database.pk, DAY + timedelta(hours=3), 60, 1, 1, 1, timedelta(seconds=58), 3059)
    assert rows[23][1:] == (DAY + timedelta(hours=23), 60, 1, 0, 1, timedelta(seconds=58), 23059)
    assert (run.status, run.removed, run.rolled_up, run.rollups_removed) == ("done", 1440, 24, 0)
    assert run.cutoff == datetime(2026, 11, 1, 10, tzinfo=UTC)  # the raw cutoff, down to a whole hour


def test_prune__run_again__changes_nothing(database, policy):
    a_day_of_checks(database)
    services.prune(policy_id=policy.pk, now=NOW)
    before = figures()
    again = services.prune(policy_id=policy.pk, now=NOW + timedelta(hours=1))
    assert figures() == before
    assert (again.removed, again.rolled_up, again.rollups_removed, again.status) == (0, 0, 0, "done")


def test_roll__the_same_hours_twice__upserts_the_same_numbers(database):
    a_day_of_checks(database)
    rollup = RpoCheckRollup()
    assert rollup.roll(DAY, DAY + timedelta(days=1)) == 24
    first = figures()
    assert rollup.roll(DAY, DAY + timedelta(days=1)) == 24
    assert figures() == first and RpoCheck.objects.count() == 1440


def test_prune__hours_within_30_days_and_the_hour_the_cutoff_cuts__untouched(database, policy):
    cutoff = NOW - timedelta(days=30)  # 10:37, 30 days ago
    recent = [cutoff - timedelta(minutes=20), cutoff + timedelta(minutes=1), NOW - timedelta(days=2)]
    RpoCheck.objects.bulk_create(RpoCheck(database=database, checked_at=at, ok=True) for at in recent)
    run = services.prune(policy_id=policy.pk, now=NOW)
    # 10:17 is older than the cutoff but its hour is not complete: it waits for the next run, whole
    assert sorted(RpoCheck.objects.values_list("checked_at", flat=True)) == recent
    assert not RpoCheckHourly.objects.exists() and (run.removed, run.rolled_up) == (0, 0)
    later = services.prune(policy_id=policy.pk, now=NOW + timedelta(hours=1))
    # An hour later the 10:00 hour is complete: both of its checks rolled into one row, the recent one kept
    assert (later.removed, later.rolled_up) == (2, 1)
    assert list(RpoCheckHourly.objects.values_list("hour", "checks")) == [(datetime(2026, 11, 1, 10, tzinfo=UTC), 2)]
    assert list(RpoCheck.objects.values_list("checked_at", flat=True)) == recent[2:]


def test_prune__rollups_older_than_396_days_pruned__younger_kept(database, policy):
    for age in (397, 395):
        RpoCheckHourly.objects.create(database=database, hour=NOW.replace(minute=0) - timedelta(days=age), checks=60,
                                      failed=0, archiving_failing=0, loss_unknown=0, unarchived_bytes=0)  # fmt: skip
    run = services.prune(policy_id=policy.pk, now=NOW)
    assert list(RpoCheckHourly.objects.values_list("hour", flat=True)) == [NOW.replace(minute=0) - timedelta(days=395)]
    assert run.rollups_removed == 1


def test_prune__a_year_in_slabs_of_a_day__each_its_own_transaction(database, policy):
    # Two days a week apart: each is rolled and deleted in its own slab (gaps are skipped, not walked)
    a_day_of_checks(database)
    a_day_of_checks(database, day=DAY - timedelta(days=7))
    run = services.prune(policy_id=policy.pk, now=NOW)
    assert (run.batches, run.rolled_up, run.removed) == (2, 48, 2880)


def test_prune__crash_while_rolling__nothing_rolled_nothing_deleted__next_run_completes(database, policy, monkeypatch):
    a_day_of_checks(database)
    real_roll = RpoCheckRollup.roll

    def roll_then_crash(self, start, end):
        real_roll(self, start, end)
        raise RuntimeError("worker lost")

    monkeypatch.setattr(RpoCheckRollup, "roll", roll_then_crash)
    with pytest.raises(RuntimeError):
        services.prune(policy_id=policy.pk, now=NOW)
    assert RpoCheck.objects.count() == 1440 and not RpoCheckHourly.objects.exists()
    assert PruneRun.objects.get().status == "failed"
    monkeypatch.setattr(RpoCheckRollup, "roll", real_roll)
    assert services.prune(policy_id=policy.pk, now=NOW).rolled_up == 24 and len(figures()) == 24


def test_prune__rollups_asked_for_a_table_without_one__refused_nothing_deleted(db):
    from django_celery_results.models import TaskResult

    TaskResult.objects.create(task_id="old", status="SUCCESS")
    TaskResult.objects.update(date_done=NOW - timedelta(days=5))
    policy = RetentionPolicy.objects.create(table="django_celery_results.TaskResult", time_field="date_done",
                                            keep_days=1, rollup_keep_days=30)  # fmt: skip
    with pytest.raises(services.RetentionError, match="no hourly roll-up registered: nothing pruned"):
        services.prune(policy_id=policy.pk, now=NOW)
    assert TaskResult.objects.count() == 1 and not PruneRun.objects.exists()


@pytest.mark.parametrize(
    ("table", "keep_days", "rollup_keep_days", "message"),
    [
        ("django_celery_results.TaskResult", 1, 30, "has no hourly roll-up"),
        ("backups.RpoCheck", None, 396, "set the days raw rows are kept first"),
        ("backups.RpoCheck", 30, 7, "Keep roll-ups from 30 days"),
        ("backups.RpoCheck", 30, 5000, "to 3660 days"),
        ("backups.RpoCheck", 0, None, "at least 1 day"),
    ],
)
def test_policy__bad_rollup_period__clear_message(table, keep_days, rollup_keep_days, message):
    with pytest.raises(ValidationError) as refused:
        RetentionPolicy(table=table, time_field="checked_at" if "Rpo" in table else "date_done", keep_days=keep_days,
                        rollup_keep_days=rollup_keep_days).full_clean()  # fmt: skip
    assert message in str(refused.value)


def test_admin__bad_rollup_period__form_says_why__policy_unchanged(policy, admin_client):
    form = {"table": policy.table, "time_field": policy.time_field, "keep_days": 30, "rollup_keep_days": 7,
            "batch_size": 5000, "enabled": "on", "note": "x"}  # fmt: skip
    response = admin_client.post(f"/admin/retention/retentionpolicy/{policy.pk}/change/", form)
    assert response.status_code == 200 and "Keep roll-ups from 30 days" in response.content.decode()
    policy.refresh_from_db()
    assert (policy.rollup_keep_days, policy.note) == (396, "raw checks, one a minute per database; hourly 13 months")


def test_admin__runs_show_hours_rolled_up__hourly_list_read_only_with_filters(database, policy, admin_client):
    a_day_of_checks(database)
    services.prune(policy_id=policy.pk, now=NOW)
    runs = admin_client.get("/admin/retention/prunerun/").content.decode()
    assert "hours rolled up" in runs.lower() and ">24<" in runs
    page = admin_client.get("/admin/backups/rpocheckhourly/", {"database__environment__id__exact":
                                                                database.environment_id})  # fmt: skip
    assert page.status_code == 200 and "23059" in page.content.decode()
    assert admin_client.get("/admin/backups/rpocheckhourly/add/").status_code == 403


def test_command__says_how_many_hours_were_rolled_up(database, policy):
    a_day_of_checks(database)
    out = StringIO()
    call_command("prune_retention", "--table", "backups.RpoCheck", stdout=out)
    assert "1440 rows" in out.getvalue() and "24 hourly rows rolled up" in out.getvalue()
