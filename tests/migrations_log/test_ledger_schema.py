"""The console's ledger in a target database lives in its own schema, amarise_ops, not among the storefront's tables;
a ledger of before (public.amarise_migrations_log) is moved there, once, without losing a row."""

from environments.models import Environment
from migrations_log.executor import apply_pending
from migrations_log.models import MigrationRun
from migrations_log.services import register_release
from tests.migrations_log.conftest import target_sql
from tests.migrations_log.helpers import BASE, release

OLD_LEDGER = (
    "CREATE TABLE public.amarise_migrations_log (identifier text PRIMARY KEY, sha256 text NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT now());"
    "INSERT INTO public.amarise_migrations_log VALUES ('0001_add_gift_wrap', 'x', '2026-01-02T03:04:05Z');"
    "ALTER TABLE orders ADD COLUMN gift_wrap boolean;"
)


def _apply(key="dev"):
    return apply_pending(release=release("2.0"), environment=Environment.objects.get(key=key))


def _ledgers(key="dev"):
    return target_sql(
        key, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'amarise_migrations_log' ORDER BY 1"
    )


def test_apply_pending__fresh_target__ledger_in_amarise_ops_not_public(targets):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    assert _apply().ok
    assert [schema for (schema,) in _ledgers()] == ["amarise_ops"]
    assert target_sql("dev", "SELECT count(*) FROM amarise_ops.amarise_migrations_log") == [(2,)]


def test_apply_pending__ledger_of_before_in_public__moved_with_its_rows_once(targets):
    target_sql("dev", OLD_LEDGER)
    MigrationRun.objects.all().delete()
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")

    assert _apply().ok
    assert _apply().ok  # again: nothing to move, nothing run

    assert [schema for (schema,) in _ledgers()] == ["amarise_ops"]
    rows = target_sql("dev", "SELECT identifier, sha256 FROM amarise_ops.amarise_migrations_log ORDER BY 1")
    assert rows[0] == ("0001_add_gift_wrap", "x")  # the moved row, as it was: not run again
    assert [r[0] for r in rows] == ["0001_add_gift_wrap", "0002_create_wishlists"]
    assert (
        "Already in the database's ledger"
        in MigrationRun.objects.get(migration__identifier="0001_add_gift_wrap").output
    )


def test_apply_pending__both_ledgers_exist__old_rows_merged_and_old_table_dropped(targets):
    target_sql("dev", OLD_LEDGER)
    target_sql(
        "dev",
        "CREATE SCHEMA amarise_ops; CREATE TABLE amarise_ops.amarise_migrations_log (identifier text PRIMARY KEY, "
        "sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());",
    )
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    assert _apply().ok
    assert [schema for (schema,) in _ledgers()] == ["amarise_ops"]
    rows = target_sql("dev", "SELECT identifier FROM amarise_ops.amarise_migrations_log ORDER BY 1")
    assert rows == [("0001_add_gift_wrap",), ("0002_create_wishlists",)]
