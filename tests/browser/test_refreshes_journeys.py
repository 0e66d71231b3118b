"""Rule a new production column, refresh staging from the admin, and see the leak scan pass."""

import psycopg
import pytest
from playwright.sync_api import expect

from refreshes.models import RefreshRun
from tests.browser.conftest import screenshot
from tests.conftest import wait_until
from tests.refreshes.conftest import (  # noqa: F401 - fixtures shared with the refreshes tests
    PREFIX,
    _drop_test_databases,
    _production_db,
    db_url,
    mutable_production,
    query,
    staging_name,
    targets_tx,
)

pytestmark = pytest.mark.browser
PRODUCTION, STAGING = f"{PREFIX}production", f"{PREFIX}staging"


@pytest.mark.usefixtures("worker", "targets_tx", "mutable_production", "staging_name")
def test_journey__rule_a_new_column_then_refresh_staging__leak_scan_passes(logged_in, live_server):
    with psycopg.connect(db_url(PRODUCTION)) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN loyalty_nickname text")
        conn.execute("UPDATE customers SET loyalty_nickname = 'Nick' || first_name")
    page = logged_in

    page.goto(f"{live_server.url}/admin/refreshes/maskingrule/check-schema/")
    expect(page.locator("#schema-check-result")).to_contain_text("customers.loyalty_nickname")
    expect(page.locator("body")).to_contain_text("looks personal")
    screenshot(page, "refreshes-unruled-column")

    page.goto(f"{live_server.url}/admin/refreshes/maskingrule/add/")
    page.fill("#id_table", "customers")
    page.fill("#id_column", "loyalty_nickname")
    page.select_option("#id_strategy", "pseudonym")
    page.fill("#id_params", '{"length": 12}')
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    page.goto(f"{live_server.url}/admin/refreshes/refreshrun/")
    page.click("#refresh-staging-now")
    expect(page.locator("#confirm-effect")).to_contain_text("masked copy of production")  # asked first
    page.fill("#confirm-reason", "QA needs the new loyalty column")
    page.click("#confirm-submit")
    expect(page.locator(".messagelist")).to_contain_text("queued")
    run = RefreshRun.objects.latest("pk")
    wait_until(lambda: RefreshRun.objects.get(pk=run.pk).is_finished, timeout=90, what="the staging refresh")
    page.reload()
    expect(page.locator("body")).to_contain_text("Leak scan passed")
    expect(page.locator("body")).to_contain_text("succeeded")
    screenshot(page, "refreshes-staging-refreshed")

    nicknames = [r[0] for r in query(STAGING, "SELECT loyalty_nickname FROM customers")]
    assert nicknames and all(len(n) == 12 and not n.startswith("Nick") for n in nicknames)
