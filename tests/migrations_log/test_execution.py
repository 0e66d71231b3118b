"""Applying migrations to real PostgreSQL databases standing in for the environments' databases."""

import threading

import psycopg

from environments.models import Environment
from migrations_log.choices import RunActor, RunStatus
from migrations_log.executor import apply_pending
from migrations_log.models import MigrationRun, MigrationTarget
from migrations_log.services import register_release
from tests.conftest import wait_until
from tests.migrations_log.conftest import standin_url, target_sql
from tests.migrations_log.helpers import BASE, release


def _columns(key, table="orders"):
    rows = target_sql(key, "SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table])
    return {name for (name,) in rows}


def _apply(version, key, user=None):
    return apply_pending(release=release(version), environment=Environment.objects.get(key=key), user=user)


def test_apply_pending__each_migration__applied_timed_and_recorded(targets, people):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")

    result = _apply("2.0", "dev", user=people["verifier"])

    assert result.ok, result.output
    assert "gift_wrap" in _columns("dev") and _columns("dev", "wishlists") == {"id", "name"}
    runs = list(MigrationRun.objects.order_by("started_at"))
    assert [(r.migration.identifier, r.status) for r in runs] == [
        ("0001_add_gift_wrap", RunStatus.APPLIED),
        ("0002_create_wishlists", RunStatus.APPLIED),
    ]
    assert all(r.duration_seconds > 0 and r.actor == RunActor.PERSON and r.user == people["verifier"] for r in runs)
    assert "line 2: ALTER TABLE" in runs[0].output
    ledger = target_sql("dev", "SELECT identifier FROM amarise_ops.amarise_migrations_log ORDER BY identifier")
    assert ledger == [("0001_add_gift_wrap",), ("0002_create_wishlists",)]
    assert _columns("staging") == {"id", "total", "gift_note", "legacy_code"}  # other environments untouched


def test_apply_pending__again__nothing_pending_nothing_run(targets):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    _apply("2.0", "dev")
    again = _apply("2.0", "dev")
    assert again.ok and "No pending migrations" in again.output
    assert MigrationRun.objects.count() == 2


def test_apply_pending__failing_migration__rolled_back_later_ones_not_run(targets):
    files = BASE | {
        "0003_bad_cast.sql": "ALTER TABLE orders ADD COLUMN half numeric;\nUPDATE orders SET half = total / 0;\n",
        "0004_after.sql": "ALTER TABLE orders ADD COLUMN after_bad text;\n",
    }
    register_release(version="2.0", files=files, ref="release/2.0", ref_kind="branch")

    result = _apply("2.0", "staging")

    assert not result.ok
    assert "0003_bad_cast: failed" in result.output and "the migrations after it were not run" in result.output
    statuses = dict(MigrationRun.objects.values_list("migration__identifier", "status"))
    assert statuses == {"0001_add_gift_wrap": "applied", "0002_create_wishlists": "applied", "0003_bad_cast": "failed"}
    failed = MigrationRun.objects.get(status=RunStatus.FAILED)
    assert "ERROR at 0003_bad_cast.sql:2: division by zero" in failed.output
    assert "Rolled back: nothing of it applied." in failed.output
    assert "half" not in _columns("staging") and "after_bad" not in _columns("staging")


def test_apply_pending__retry_after_fix__new_run_failed_one_kept(targets):
    bad = BASE | {"0003_bad.sql": "UPDATE orders SET total = total / 0;\n"}
    register_release(version="2.0", files=bad, ref="release/2.0", ref_kind="branch")
    assert not _apply("2.0", "dev").ok
    # Never applied anywhere, so it may still be corrected.
    register_release(version="2.0", files=BASE | {"0003_bad.sql": "UPDATE orders SET total = total / 1;\n"})
    assert _apply("2.0", "dev").ok
    assert list(
        MigrationRun.objects.filter(migration__identifier="0003_bad")
        .order_by("started_at")
        .values_list("status", flat=True)
    ) == ["failed", "applied"]


def test_apply_pending__create_index_concurrently__run_outside_a_transaction(targets):
    files = {"0001_index.sql": "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY orders_total ON orders (total);\n"}
    register_release(version="2.0", files=files, ref="release/2.0", ref_kind="branch")

    result = _apply("2.0", "dev")

    assert result.ok, result.output
    valid = target_sql("dev", "SELECT indisvalid FROM pg_index WHERE indexrelid = 'orders_total'::regclass")
    assert valid == [(True,)]
    assert MigrationRun.objects.get().status == RunStatus.APPLIED


def test_apply_pending__table_locked__lock_timeout_from_the_target_fails_it(targets):
    MigrationTarget.objects.filter(environment__key="dev").update(lock_timeout_ms=200)
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    locked, release_lock = threading.Event(), threading.Event()

    def hold_lock():
        with psycopg.connect(standin_url("dev")) as conn:
            conn.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release_lock.wait(10)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        wait_until(locked.is_set, timeout=10, what="the competing lock")
        result = _apply("2.0", "dev")
    finally:
        release_lock.set()
        holder.join()

    assert not result.ok
    assert "canceling statement due to lock timeout" in MigrationRun.objects.get(status="failed").output


def test_apply_pending__already_in_target_ledger__recorded_not_rerun(targets):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    _apply("2.0", "dev")
    # The console lost its record (a crash after the target committed): the target's ledger still knows.
    MigrationRun.objects.all().delete()
    result = _apply("2.0", "dev")
    assert result.ok and "already applied" in result.output
    assert "Already in the database's ledger" in MigrationRun.objects.first().output


def test_apply_pending__database_variable_unset__clear_failure_nothing_recorded(targets):
    MigrationTarget.objects.filter(environment__key="dev").update(database_url_variable="NO_SUCH_DATABASE_URL")
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    result = _apply("2.0", "dev")
    assert not result.ok
    assert "NO_SUCH_DATABASE_URL is not set in the worker's environment" in result.output
    assert not MigrationRun.objects.exists()
