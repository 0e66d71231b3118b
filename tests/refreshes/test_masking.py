"""Masking and verify on real PostgreSQL, steps run in this process (the worker tests are in test_refresh)."""

import os

import psycopg
import pytest
from psycopg import sql

from refreshes import masking, services
from refreshes.choices import RunKind, RunStatus, StepStatus
from refreshes.models import RefreshRun
from refreshes.rules import as_rules
from refreshes.schema import read_columns
from tests.refreshes.conftest import (
    CUSTOMERS,
    KEY_VAR,
    PREFIX,
    build_sample,
    count,
    databases_like,
    db_url,
    query,
    run_directly,
    text_of_database,
)

KEY = os.environ[KEY_VAR]

pytestmark = pytest.mark.django_db


def _personal_values(production):
    rows = query(production, "SELECT email, first_name, last_name, phone FROM customers")
    rows += query(production, "SELECT line1, phone, phone FROM addresses")
    return {v for row in rows for v in row if v}


def test_staging_refresh__masked_copy__no_production_email_name_or_phone_anywhere(targets, production, staging_name):
    run = run_directly(RunKind.STAGING_REFRESH)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.leak_scan_passed is True
    everything = text_of_database(staging_name)
    leaked = [v for v in _personal_values(production) if v in everything]
    assert leaked == []
    # and the masked values have the promised shapes
    email, phone = query(staging_name, "SELECT email, phone FROM customers ORDER BY id LIMIT 1")[0]
    assert email.endswith("@customers.invalid") and phone.startswith("+1 555 ")
    assert query(staging_name, "SELECT count(*) FROM payment_methods")[0][0] == 0
    assert query(staging_name, "SELECT count(*) FROM orders WHERE payment_provider_id IS NOT NULL")[0][0] == 0
    # the materialized views are rebuilt from the masked rows, not left as pg_restore filled them
    audience = "SELECT customer_id, email FROM marketing_audience ORDER BY customer_id"
    masked = "SELECT id, email FROM customers WHERE marketing_opt_in ORDER BY id"
    assert query(staging_name, audience) == query(staging_name, masked) and len(query(production, audience)) > 0
    top = "SELECT customer_id, email FROM marketing_top_customers ORDER BY customer_id"
    assert {e for _, e in query(staging_name, top)} <= {e for _, e in query(staging_name, masked)}


def test_leak_scan__materialized_view_left_unmasked__found_and_staging_untouched(
    targets, production, staging_name, monkeypatch
):
    first = run_directly(RunKind.STAGING_REFRESH)
    assert first.status == RunStatus.SUCCEEDED
    before = query(staging_name, "SELECT email FROM marketing_audience ORDER BY customer_id")
    monkeypatch.setattr(masking, "refresh_materialized_views", lambda conn: [])  # the refresh forgotten, simulated

    run = run_directly(RunKind.STAGING_REFRESH)
    assert run.status == RunStatus.FAILED and run.leak_scan_passed is False
    leaked = {leak["column"] for leak in run.leak_scan["leaks"]}
    assert {"public.marketing_audience.email", "public.marketing_audience.phone"} <= leaked
    assert "public.marketing_top_customers.email" in leaked and "marketing_audience.email" in run.error
    assert query(staging_name, "SELECT email FROM marketing_audience ORDER BY customer_id") == before


def test_mask__materialized_view_that_cannot_be_rebuilt__fails_closed_naming_it(
    targets, mutable_production, staging_name
):
    with psycopg.connect(db_url(mutable_production)) as conn:  # a view whose query refuses masked rows
        conn.execute(
            "CREATE FUNCTION real_only(text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN "
            "IF $1 LIKE '%%.invalid' THEN RAISE EXCEPTION 'not a real address'; END IF; RETURN $1; END $$"
        )
        conn.execute("CREATE MATERIALIZED VIEW real_emails AS SELECT real_only(email) AS email FROM customers")
    run = run_directly(RunKind.STAGING_REFRESH)
    assert run.status == RunStatus.FAILED
    assert run.steps.get(name="mask").status == StepStatus.FAILED
    assert "public.real_emails" in run.error and "could not be rebuilt" in run.error and "fail closed" in run.error
    assert databases_like(staging_name) == []  # staging never got the copy
    assert databases_like(f"_{run.pk}_{run.token}") == []


def test_staging_refresh__joins_and_foreign_keys__hold(targets, production, staging_name):
    run = run_directly(RunKind.STAGING_REFRESH)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert all(fk["orphans"] == 0 for fk in run.checks["foreign_keys"])
    joined = "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id AND c.email = o.contact_email"
    assert query(staging_name, joined)[0][0] == query(production, joined)[0][0] > 0
    for table in ("customers", "orders", "order_items", "reviews"):
        assert run.row_counts[f"public.{table}"] == count(production, table)


def test_leak_scan__planted_leak__fails_and_staging_untouched(targets, production, staging_name):
    first = run_directly(RunKind.STAGING_REFRESH)
    assert first.status == RunStatus.SUCCEEDED
    before = query(staging_name, "SELECT email FROM customers ORDER BY id")
    real_email = query(production, "SELECT email FROM customers ORDER BY id LIMIT 1")[0][0]
    real_name = query(production, "SELECT last_name FROM customers ORDER BY id LIMIT 1")[0][0]

    run = run_directly(RunKind.STAGING_REFRESH, until="mask")
    scratch = databases_like(f"scratch_{run.pk}_{run.token}")[0]
    with psycopg.connect(db_url(scratch)) as conn:  # a masking rule gone wrong, simulated
        conn.execute("UPDATE products SET description = %s WHERE id = 1", [f"ask {real_name} for details"])
        conn.execute("UPDATE orders SET status = %s WHERE id = 2", [real_email])
    for step in ("verify", "load", "cleanup"):
        services.run_step(run_id=run.pk, step_name=step)

    run = RefreshRun.objects.get(pk=run.pk)
    assert run.status == RunStatus.FAILED and run.leak_scan_passed is False
    assert {leak["column"] for leak in run.leak_scan["leaks"]} == {"public.orders.status"}
    assert real_email not in str(run.leak_scan) and real_email not in run.error
    assert query(staging_name, "SELECT email FROM customers ORDER BY id") == before
    assert databases_like(f"_{run.pk}_{run.token}") == []


def test_leak_scan__name_planted_in_free_text__found(targets, production, staging_name):
    real_name = query(production, "SELECT first_name FROM customers ORDER BY id LIMIT 1")[0][0]
    run = run_directly(RunKind.STAGING_REFRESH, until="mask")
    scratch = databases_like(f"scratch_{run.pk}_{run.token}")[0]
    with psycopg.connect(db_url(scratch)) as conn:
        conn.execute("UPDATE reviews SET body = %s WHERE id = 1", [f"Lovely, thanks {real_name}!"])
    services.run_step(run_id=run.pk, step_name="verify")
    services.run_step(run_id=run.pk, step_name="cleanup")
    run = RefreshRun.objects.get(pk=run.pk)
    assert run.leak_scan["leaks"] == [{"column": "public.reviews.body", "rows": 1}]


def test_mask__no_masking_key__refuses_before_copying(targets, production, staging_name, monkeypatch):
    monkeypatch.delenv("OPS_TEST_REFRESHES_KEY")
    run = run_directly(RunKind.STAGING_REFRESH)
    assert run.status == RunStatus.FAILED
    assert "OPS_TEST_REFRESHES_KEY must hold the masking key" in run.error
    assert run.steps.get(name="copy").status == StepStatus.SKIPPED
    assert databases_like(staging_name) == []


def test_mask__step_run_twice__masks_once(targets, production, staging_name):
    run = run_directly(RunKind.STAGING_REFRESH, until="mask")
    scratch = databases_like(f"scratch_{run.pk}_{run.token}")[0]
    once = query(scratch, "SELECT email, first_name FROM customers ORDER BY id")
    run.steps.filter(name="mask").update(status=StepStatus.RUNNING)  # as if the worker died after the commit
    services.run_step(run_id=run.pk, step_name="mask")
    assert query(scratch, "SELECT email, first_name FROM customers ORDER BY id") == once
    services.run_step(run_id=run.pk, step_name="cleanup")


def _masked_tables(name):
    tables = ("customers", "addresses", "orders", "reviews", "newsletter_subscriptions", "payment_methods")
    return {t: query(name, sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(t))) for t in tables}


def test_mask__crash_after_some_tables__retry_masks_the_rest_once_and_matches_a_clean_run(monkeypatch):
    rules = as_rules()
    crashed, clean = f"{PREFIX}mask_crashed", f"{PREFIX}mask_clean"
    for name in (crashed, clean):
        build_sample(name)
        with psycopg.connect(db_url(name), autocommit=True) as conn:
            conn.execute("ANALYZE")  # the largest tables go first: customers and orders before reviews
            columns = read_columns(conn)
            with conn.transaction():
                masking.prepare(conn)
                masking.capture_production_values(conn, rules, columns, min_length=5)

    def connect_to(name):
        return lambda: psycopg.connect(db_url(name))

    real = masking.masking_statements

    def reviews_crash(*args):
        truncate, updates = real(*args)
        return truncate, [(t, sql.SQL("SELECT 1/0") if t == "public.reviews" else s) for t, s in updates]

    # Given a masking that dies at the reviews table, after the larger tables committed
    monkeypatch.setattr(masking, "masking_statements", reviews_crash)
    with pytest.raises(psycopg.errors.DivisionByZero):
        masking.apply(connect_to(crashed), rules, columns, key=KEY, parallel=1)
    done = {
        r[0]
        for r in query(crashed, sql.SQL("SELECT name FROM {}").format(sql.Identifier(masking.WORK, "masked_tables")))
    }
    assert {"public.customers", "public.orders"} <= done and "public.reviews" not in done

    # When it runs again, and a clean run masks a twin copy in parallel
    monkeypatch.setattr(masking, "masking_statements", real)
    masking.apply(connect_to(crashed), rules, columns, key=KEY, parallel=1)
    masking.apply(connect_to(clean), rules, columns, key=KEY, parallel=2)

    # Then nothing was masked twice: both copies hold exactly the same rows
    assert _masked_tables(crashed) == _masked_tables(clean)
    assert query(crashed, "SELECT count(*) FROM customers WHERE email LIKE '%%.invalid'")[0][0] == CUSTOMERS
