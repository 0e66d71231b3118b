"""The dev reset: recreated from the schema and seeded with Faker from a fixed seed, repeatably."""

import pytest

from refreshes import services
from refreshes.choices import RunKind, RunStatus
from refreshes.models import DataTarget, RefreshRun
from tests.conftest import wait_until
from tests.refreshes.conftest import VARS, databases_like, query, run_directly


def _fingerprint(name):
    tables = ["customers", "products", "orders", "order_items", "reviews", "wishlists", "rituals", "moods"]
    return {t: query(name, f"SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM {t} x")[0][0] for t in tables}  # noqa: S608


def _reset_through_worker():
    run = services.start_run(kind=RunKind.DEV_RESET, requested_by="test")
    return wait_until(
        lambda: RefreshRun.objects.filter(pk=run.pk, status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]).first(),
        timeout=60,
        what=f"dev reset {run.pk}",
    )


def test_dev_reset__twice__same_data_and_safe(worker, targets_tx, dev_name):
    first = _reset_through_worker()
    assert first.status == RunStatus.SUCCEEDED, first.error
    once = _fingerprint(dev_name)
    query(dev_name, "SELECT 1")  # someone is connected to dev while it is reset again
    second = _reset_through_worker()
    assert second.status == RunStatus.SUCCEEDED, second.error
    assert _fingerprint(dev_name) == once
    assert second.test_logins == first.test_logins and len(first.test_logins) == 12
    assert query(dev_name, "SELECT count(*) FROM products p JOIN rituals r ON r.id = p.ritual_id")[0][0] == 48
    assert query(dev_name, "SELECT count(DISTINCT mood_id) FROM products")[0][0] == 6
    emails = {r[0] for r in query(dev_name, "SELECT email FROM customers")}
    assert {login["email"] for login in first.test_logins} == emails
    assert databases_like(f"next_{second.pk}_") == []


@pytest.mark.django_db
def test_dev_reset__another_seed__other_data(targets, dev_name):
    run_directly(RunKind.DEV_RESET)
    once = _fingerprint(dev_name)
    DataTarget.objects.filter(environment__key="dev").update(dev_seed=7)
    run = run_directly(RunKind.DEV_RESET)
    assert run.status == RunStatus.SUCCEEDED
    assert _fingerprint(dev_name)["customers"] != once["customers"]


@pytest.mark.django_db
def test_dev_reset__target_is_production__refused(targets, production):
    DataTarget.objects.filter(environment__key="dev").update(dsn_env_var=VARS["production"])
    run = run_directly(RunKind.DEV_RESET)
    assert run.status == RunStatus.FAILED and "production's database" in run.error
    assert query(production, "SELECT count(*) FROM customers")[0][0] == 120
