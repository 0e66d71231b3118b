"""Masking and verify on real PostgreSQL, steps run in this process (the worker tests are in test_refresh)."""

import psycopg
import pytest

from refreshes import services
from refreshes.choices import RunKind, RunStatus, StepStatus
from refreshes.models import RefreshRun
from tests.refreshes.conftest import count, databases_like, db_url, query, run_directly, text_of_database

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


def test_staging_refresh__joins_and_foreign_keys__hold(targets, production, staging_name):
    run = run_directly(RunKind.STAGING_REFRESH)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert all(fk["orphans"] == 0 for fk in run.checks["foreign_keys"])
    joined = "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id AND c.email = o.contact_email"
    assert query(staging_name, joined)[0][0] == query(production, joined)[0][0] > 0
    for table in ("customers", "orders", "order_items", "reviews"):
        assert run.row_counts[table] == count(production, table)


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
    assert {leak["column"] for leak in run.leak_scan["leaks"]} == {"orders.status"}
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
    assert run.leak_scan["leaks"] == [{"column": "reviews.body", "rows": 1}]


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
