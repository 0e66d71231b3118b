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


@pytest.mark.usefixtures("staging", "shoppers")
def test_journey__bake_period__switch_back_with_a_reason__traffic_on_blue__open_the_incident(
    worker, logged_in, live_server
):
    from deployments import services
    from deployments.choices import DeploymentStatus
    from deployments.models import Deployment, DeploymentPolicy
    from environments.public import Environment
    from tests.conftest import wait_until

    env = Environment.objects.get(key="staging")
    DeploymentPolicy.objects.filter(environment=env).update(bake_minutes=5)
    env.deployment_policy.traffic_steps.update(hold_seconds=1.0)
    release = Release.objects.create(version="v2.0", ref="release/2.0", ref_kind="branch")
    deployment = services.start_deployment(release=release, environment=env)
    wait_until(lambda: Deployment.objects.get(pk=deployment.pk).status == DeploymentStatus.SUCCEEDED, timeout=60,
               what="the deployment to succeed")  # fmt: skip

    page = logged_in
    page.goto(f"{live_server.url}/admin/deployments/deployment/{deployment.pk}/change/")
    expect(page.locator("#deployment-status")).to_have_text("Succeeded, watching (5 min left)")
    expect(page.locator("#traffic-split")).to_contain_text("green 100%")
    page.click("#switch-back-button")
    # core.confirm's page, saying what moves: green with v2.0 → blue with the previous release
    expect(page.locator("#confirm-summary")).to_contain_text("green · v2.0 (100% of traffic now)")
    expect(page.locator("#confirm-summary dd").last).to_have_text("blue · v1")
    page.fill("#confirm-reason", "checkout errors reported by support")
    screenshot(page, "deployment-switch-back-confirm")
    page.click("#confirm-submit")

    expect(page.locator("#traffic-split")).to_have_text("blue 100%", timeout=15_000)
    expect(page.locator("#deployment-status")).to_have_text("Rolled back")
    expect(page.locator(".ops-timeline")).to_contain_text("Switch back requested: checkout errors reported by support")
    screenshot(page, "deployment-switched-back")

    def incident_link():
        page.reload()
        return page.locator("#incident-link").count()

    wait_until(incident_link, timeout=30, interval=0.5, what="the incident's link on the deployment page")
    page.click("#incident-link")
    expect(page.locator("body")).to_contain_text("Manual rollback of v2.0 on Staging")
