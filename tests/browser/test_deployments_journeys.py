import pytest
from playwright.sync_api import expect

from deployments.models import Release
from tests.browser.conftest import screenshot
from tests.deployments.conftest import haproxy, shoppers, slots, staging  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.mark.usefixtures("staging", "shoppers")
def test_journey__start_staging_deployment__watch_it_reach_100(worker, logged_in, live_server):
    page = logged_in
    Release.objects.create(version="v2.0", ref="release/2.0", ref_kind="branch")

    page.goto(f"{live_server.url}/admin/deployments/deployment/")
    page.click("text=Start deployment")
    page.select_option("#id_environment", label="Staging")
    page.fill("#id_release", "v2.0")
    page.click("input[value='Start deployment']")

    expect(page.locator("#deployment-status")).to_have_text("Succeeded", timeout=60_000)
    expect(page.locator("#deployment-progress")).to_have_text("6/6 steps")
    expect(page.locator("#traffic-split")).to_contain_text("green 100%")
    expect(page.locator(".ops-timeline")).to_contain_text("Traffic: 50% on green")
    screenshot(page, "deployment-succeeded")

    page.goto(f"{live_server.url}/admin/")
    expect(page.locator('article[data-environment="staging"]')).to_contain_text("green · v2.0")
