import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def history(transactional_db):
    from core.seeding import SeedReport
    from delivery import seeds as delivery_seeds
    from environments import seeds as environment_seeds
    from incidents import seeds as incident_seeds
    from tests.delivery.conftest import build_history

    report = SeedReport()
    for module in (environment_seeds, incident_seeds, delivery_seeds):
        module.seed(report)
    return build_history()


def test_journey__dora_for_production_then_the_rolled_back_deployments(history, logged_in, live_server):
    page = logged_in
    page.goto(f"{live_server.url}/admin/")
    page.click("a[href$='/admin/delivery/dora/?environment=production&days=30']")

    expect(page.locator("#tile-deployment-frequency")).to_contain_text("0.20 / day")
    expect(page.locator("#tile-deployment-frequency")).to_contain_text("High")
    expect(page.locator("#tile-lead-time")).to_contain_text("4.0 h")
    expect(page.locator("#tile-change-failure-rate")).to_contain_text("28.6%")
    expect(page.locator("#tile-change-failure-rate")).to_contain_text("2 of 7 deployments")
    expect(page.locator("#tile-time-to-restore")).to_contain_text("Elite")
    expect(page.locator("#dora-trend svg")).to_have_count(4)
    screenshot(page, "delivery-dora-production-30-days")

    page.click("#link-rolled_back")
    expect(page).to_have_url(re.compile(r"/admin/deployments/deployment/\?.*executed_at__isnull=False"))
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("v1.1")
    expect(rows.first).to_contain_text("Rolled back")
    screenshot(page, "delivery-dora-rolled-back-deployments")
