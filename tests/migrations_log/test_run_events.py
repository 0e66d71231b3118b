"""Migration runs change status only through core.status: each change, their creation included, writes an event."""

import pytest
from django.utils import timezone

import core.status
from core.status import change_status
from migrations_log.choices import RunActor, RunStatus
from migrations_log.exceptions import InvalidTransition, MigrationRefused
from migrations_log.executor import apply_pending
from migrations_log.models import Migration, MigrationRun, MigrationTarget
from migrations_log.services import register_release
from tests.migrations_log.helpers import BASE, release


def _events(run):
    return [(e.old_status, e.new_status, e.actor, e.user) for e in run.events.all()]


def test_apply_pending__each_change__event_row_old_new_actor_and_user(targets, make_user, env):
    vera = make_user("vera")
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")

    assert apply_pending(release=release("2.0"), environment=env("dev"), user=vera).ok

    for run in MigrationRun.objects.all():
        assert _events(run) == [
            ("", RunStatus.RUNNING, "vera", vera),
            (RunStatus.RUNNING, RunStatus.APPLIED, "vera", vera),
        ]


def test_apply_pending__failing_migration__running_to_failed_with_the_error(targets, env):
    register_release(version="2.0", files={"0001_bad.sql": "UPDATE orders SET total = total / 0;\n"},
                     ref="release/2.0", ref_kind="branch")  # fmt: skip

    assert not apply_pending(release=release("2.0"), environment=env("dev")).ok

    run = MigrationRun.objects.get()
    assert [(old, new, actor) for old, new, actor, _ in _events(run)] == [
        ("", RunStatus.RUNNING, "person"),
        (RunStatus.RUNNING, RunStatus.FAILED, "person"),
    ]
    assert "division by zero" in run.events.last().reason


def test_apply_pending__already_in_the_ledger__created_applied_with_one_event(targets, env):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    apply_pending(release=release("2.0"), environment=env("dev"))
    MigrationRun.objects.all().delete()  # the console lost its record; the target's ledger still knows

    assert apply_pending(release=release("2.0"), environment=env("dev")).ok

    for run in MigrationRun.objects.all():
        assert [(e.old_status, e.new_status, e.reason) for e in run.events.all()] == [
            ("", RunStatus.APPLIED, "already in the database's ledger")
        ]


def test_apply_pending__run_left_running_by_a_crash__failed_by_the_executor_with_an_event(targets, env):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    crashed = MigrationRun.objects.create(
        migration=Migration.objects.get(identifier="0001_add_gift_wrap"),
        environment=env("dev"),
        actor=RunActor.PERSON,
        started_at=timezone.now(),
    )

    assert apply_pending(release=release("2.0"), environment=env("dev")).ok

    crashed.refresh_from_db()
    assert crashed.status == RunStatus.FAILED and crashed.output.startswith("Interrupted")
    assert [(e.old_status, e.new_status, e.actor) for e in crashed.events.all()] == [
        (RunStatus.RUNNING, RunStatus.FAILED, "executor")
    ]


def test_migration_run__transition_outside_its_map__refused_and_nothing_changes(targets, env):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    apply_pending(release=release("2.0"), environment=env("dev"))
    run = MigrationRun.objects.first()

    with pytest.raises(InvalidTransition, match=rf"Migration run #{run.pk} is applied; it cannot go to failed\."):
        change_status(run, RunStatus.FAILED, actor="ops")

    run = MigrationRun.objects.get(pk=run.pk)
    assert run.status == RunStatus.APPLIED and run.events.count() == 2
    assert issubclass(InvalidTransition, core.status.InvalidTransition)
    assert issubclass(InvalidTransition, MigrationRefused)


def test_migration_run__moved_to_its_current_status__no_op_without_event(targets, env):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    apply_pending(release=release("2.0"), environment=env("dev"))
    run = MigrationRun.objects.first()

    assert not change_status(run, RunStatus.APPLIED, actor="ops").changed
    assert run.events.count() == 2


def test_database_url_of_an_unknown_kind__clear_failure_nothing_recorded(targets, env, monkeypatch):
    MigrationTarget.objects.filter(environment__key="dev").update(database_url_variable="ODD_DEV_DATABASE_URL")
    monkeypatch.setenv("ODD_DEV_DATABASE_URL", "mysql://db.invalid/shop")
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")

    result = apply_pending(release=release("2.0"), environment=env("dev"))

    assert not result.ok
    assert "the database URL's scheme 'mysql' is not one the console migrates" in result.output
    assert not MigrationRun.objects.exists()
