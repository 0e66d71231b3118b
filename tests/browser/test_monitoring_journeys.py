import pytest
from playwright.sync_api import expect

from monitoring import services
from monitoring.models import Alert, ScrapeTarget
from tests.browser.conftest import screenshot
from tests.conftest import wait_until
from tests.monitoring import conftest as monitoring_fixtures
from tests.monitoring.conftest import engine_settings
from tests.monitoring.engines import Storefront
from tests.monitoring.test_alerting import _push

# The monitoring tests' Prometheus and Alertmanager, one per module.
engines = monitoring_fixtures.engines

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_journey__monitoring_page__charts_with_thresholds__silence_a_firing_alert(
    worker,
    seeded_tx,
    env,
    engines,
    logged_in,
    live_server,
):
    page = logged_in
    front = Storefront(slot="blue")
    try:
        ScrapeTarget.objects.create(environment=env("production"), kind="storefront", address=front.address)
        with engine_settings(engines, OPS_MONITORING_WEBHOOK_URL=f"{live_server.url}/api/alerts/alertmanager/"):
            services.apply_configuration()
            _push(engines["alertmanager"], instance="db-1")
            alert = wait_until(lambda: Alert.objects.filter(labels__instance="db-1").first(), timeout=30,
                               what="the alert to reach the console")  # fmt: skip

            page.goto(f"{live_server.url}/admin/")
            page.click("a[href$='/admin/monitoring/alert/page/production/']")
            chart = page.locator("figure[data-metric=disk_usage]")
            expect(chart.locator("line.threshold-warning")).to_have_count(1)
            expect(chart.locator("line.threshold-critical")).to_have_count(1)
            expect(page.locator("#firing-alerts")).to_contain_text("DiskUsage")
            screenshot(page, "monitoring-page")

            page.goto(f"{live_server.url}/admin/monitoring/alert/?status=firing")
            page.check(f"input[name=_selected_action][value='{alert.pk}']")
            page.select_option("select[name=action]", "silence_4h")
            page.fill("input[name=silence_reason]", "db-1 disk being grown")
            page.click("button[name=index]")
            expect(page.locator(".messagelist")).to_contain_text("Silenced in Alertmanager until")

            page.goto(f"{live_server.url}/admin/monitoring/alert/page/production/")
            row = page.locator("#firing-alerts tr", has_text="DiskUsage")
            expect(row).to_contain_text("Silenced")
            expect(row).to_contain_text("by ops until")
            expect(row).to_contain_text("db-1 disk being grown")
            screenshot(page, "monitoring-silenced")
    finally:
        front.close()
    assert any(s["comment"] == "db-1 disk being grown" for s in engines["alertmanager"].silences())
