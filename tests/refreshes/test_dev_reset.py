"""The dev reset: dev rebuilt from its real schema (the migrations live on dev, through the executor), then Faker
rows driven by the masking rules from a fixed seed, repeatably; tables the rules do not cover are left empty."""

import psycopg
import pytest

from environments.models import Environment
from migrations_log.executor import apply_pending
from migrations_log.models import MigrationTarget
from migrations_log.services import register_release
from refreshes import services
from refreshes.choices import RunKind, RunStatus
from refreshes.models import DataTarget, RefreshRun
from refreshes.sample.generate import CONSTRAINTS_SQL, SCHEMA_SQL
from tests.conftest import wait_until
from tests.migrations_log.helpers import release
from tests.refreshes.conftest import VARS, admin_conn, databases_like, db_url, drop, query, run_directly


def _no_comments(text):
    # The migrations' statement splitter miscounts after a multi-byte character in a comment (the É of AMARISÉ).
    return "\n".join(line for line in text.splitlines() if not line.startswith("--")) + "\n"


# dev's storefront schema as its migrations: the commerce tables, their keys, and a table no rule covers yet.
MIGRATIONS = {
    "0001_commerce.sql": _no_comments(SCHEMA_SQL),
    "0002_commerce_keys.sql": _no_comments(CONSTRAINTS_SQL),
    "0003_gift_cards.sql": "CREATE TABLE gift_cards (id bigint PRIMARY KEY, code text NOT NULL);\n",
}
TABLES = ["customers", "addresses", "products", "orders", "order_items", "reviews", "wishlists", "rituals", "moods"]


@pytest.fixture
def dev_migrations(monkeypatch, dev_name):
    """The release live on dev, its migrations applied there through the console (as a deployment would)."""
    from refreshes import pg

    with admin_conn() as conn:
        pg.create_database(conn, dev_name, private=False)
    monkeypatch.setenv("REFRESHES_TEST_DEV_DATABASE_URL", db_url(dev_name))
    dev = Environment.objects.get(key="dev")
    MigrationTarget.objects.filter(environment=dev).update(
        database_url_variable="REFRESHES_TEST_DEV_DATABASE_URL", enabled=True
    )
    register_release(version="4.0", files=MIGRATIONS, ref="release/4.0", ref_kind="branch")
    result = apply_pending(release=release("4.0"), environment=dev)
    assert result.ok, result.output
    with psycopg.connect(db_url(dev_name)) as conn:  # data someone left on dev: the reset replaces it
        conn.execute("INSERT INTO customers VALUES (999, 'x@y.z', 'A', 'B', NULL, NULL, 'h', false, NULL, now())")


def _fingerprint(name):
    return {t: query(name, f"SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM {t} x")[0][0] for t in TABLES}  # noqa: S608


def _reset_through_worker():
    run = services.start_run(kind=RunKind.DEV_RESET, requested_by="test")
    return wait_until(
        lambda: RefreshRun.objects.filter(pk=run.pk, status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]).first(),
        timeout=60,
        what=f"dev reset {run.pk}",
    )


@pytest.mark.django_db
def test_dev_reset__migrations_live_on_dev__schema_ledger_rows_by_rule_and_unruled_table_reported(
    targets, dev_migrations, dev_name
):
    run = run_directly(RunKind.DEV_RESET)
    assert run.status == RunStatus.SUCCEEDED, run.error

    ledger = query(dev_name, "SELECT identifier FROM amarise_ops.amarise_migrations_log ORDER BY 1")
    assert ledger == [("0001_commerce",), ("0002_commerce_keys",), ("0003_gift_cards",)]
    assert query(dev_name, "SELECT count(*) FROM customers WHERE id = 999") == [(0,)]  # rebuilt, not patched
    # Ruled tables filled, by column kind; the unruled one empty and reported; emptied ones as in staging
    assert run.row_counts["public.customers"] == 24 and run.row_counts["public.order_items"] == 24
    assert run.row_counts["public.gift_cards"] == 0
    assert run.checks["left_empty"]["public.gift_cards"] == "no masking rule for id, code"
    assert (
        "left empty: " in run.steps.get(name="build").detail
        and "public.gift_cards" in run.steps.get(name="build").detail
    )
    assert run.checks["left_empty"]["public.payment_methods"].startswith("emptied by its masking rule")
    assert query(dev_name, "SELECT count(*) FROM payment_methods") == [(0,)]
    assert query(dev_name, "SELECT count(*) FROM customers WHERE email LIKE 'test%@dev.amarise.invalid'") == [(12,)]
    assert query(dev_name, "SELECT count(*) FROM customers WHERE phone LIKE '+1 555 %'") == [(24,)]
    assert query(dev_name, "SELECT count(*) FROM orders WHERE payment_provider_id IS NOT NULL") == [(0,)]
    joined = (
        "SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id JOIN products p ON p.id = i.product_id"
    )
    assert query(dev_name, joined) == [(24,)]
    assert len(run.test_logins) == 12 and run.test_logins[0]["email"] == "test1@dev.amarise.invalid"


def test_dev_reset__twice__same_data_and_safe(worker, targets_tx, dev_migrations, dev_name):
    first = _reset_through_worker()
    assert first.status == RunStatus.SUCCEEDED, first.error
    once = _fingerprint(dev_name)
    query(dev_name, "SELECT 1")  # someone is connected to dev while it is reset again
    second = _reset_through_worker()
    assert second.status == RunStatus.SUCCEEDED, second.error
    assert _fingerprint(dev_name) == once
    assert second.test_logins == first.test_logins and len(first.test_logins) == 12
    emails = {r[0] for r in query(dev_name, "SELECT email FROM customers WHERE email LIKE 'test%'")}
    assert {login["email"] for login in first.test_logins} == emails
    assert databases_like(f"next_{second.pk}_") == []


@pytest.mark.django_db
def test_dev_reset__another_seed__other_data(targets, dev_migrations, dev_name):
    run_directly(RunKind.DEV_RESET)
    once = _fingerprint(dev_name)
    DataTarget.objects.filter(environment__key="dev").update(dev_seed=7)
    run = run_directly(RunKind.DEV_RESET)
    assert run.status == RunStatus.SUCCEEDED
    assert _fingerprint(dev_name)["customers"] != once["customers"]


@pytest.mark.django_db
def test_dev_reset__no_migration_live_on_dev__refused_dev_as_it_was(targets, dev_name):
    from refreshes import pg

    with admin_conn() as conn:
        pg.create_database(conn, dev_name, private=False)
    with psycopg.connect(db_url(dev_name)) as conn:
        conn.execute("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)")
    run = run_directly(RunKind.DEV_RESET)
    assert run.status == RunStatus.FAILED
    assert "No release is live on Dev and the migrations log records no migration applied there" in run.error
    assert query(dev_name, "SELECT id FROM kept") == [(1,)]
    assert databases_like(f"next_{run.pk}_") == []
    drop(dev_name)


@pytest.mark.django_db
def test_dev_reset__target_is_production__refused(targets, production):
    DataTarget.objects.filter(environment__key="dev").update(dsn_env_var=VARS["production"])
    run = run_directly(RunKind.DEV_RESET)
    assert run.status == RunStatus.FAILED and "production's database" in run.error
    assert query(production, "SELECT count(*) FROM customers")[0][0] == 120
