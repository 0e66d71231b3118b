import pytest
from playwright.sync_api import expect

from deployments import services as deployments
from deployments.choices import DeploymentStatus as S
from deployments.models import Release
from incidents.models import Incident
from tests.browser.conftest import screenshot
from tests.conftest import wait_until
from tests.deployments import conftest as deployment_fixtures
from tests.deployments.standins import Behaviour

# The real engine's fixtures, under their own names.
haproxy, shoppers = deployment_fixtures.haproxy, deployment_fixtures.shoppers
slots, staging = deployment_fixtures.slots, deployment_fixtures.staging

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_journey__rollback_incident__report_postmortem_and_markdown(worker, staging, shoppers, slots, logged_in,
                                                                    live_server):  # fmt: skip
    page = logged_in
    slots[1].behaviours["v4.0"] = Behaviour(error_fraction=0.2)
    # The smoke test would meet the same 20% of 500s one time in five: check the health path instead.
    staging.deployment_policy.smoke_checks.update(path="/healthz", body_contains="ok")
    release = Release.objects.create(version="v4.0", ref="release/4.0", ref_kind="branch")
    deployment = deployments.start_deployment(release=release, environment=staging)

    def finished():
        deployment.refresh_from_db()
        return deployment.status in {S.ROLLED_BACK, S.SUCCEEDED, S.FAILED, S.PAUSED}

    wait_until(finished, timeout=60, what="the engine to roll the release back")
    assert deployment.status == S.ROLLED_BACK, "\n".join(e.detail for e in deployment.events.all())
    incident = wait_until(
        lambda: Incident.objects.filter(deployment=deployment).first(), timeout=30, what="the rollback's incident"
    )

    page.goto(f"{live_server.url}/admin/incidents/incident/")
    page.click(f"a[href$='/incidents/incident/{incident.pk}/change/']")
    expect(page.locator("#incident-timeline")).to_contain_text("automatic rollback")
    expect(page.locator("#incident-compliance")).to_contain_text("✔ met")

    page.fill("#id_error_logs", "https://logs.amarise.invalid/q?release=v4.0 — 20% 500s on /checkout")
    page.fill("#id_affected_functionality", "Checkout")
    page.fill("#id_customer_impact", "About 20% of checkouts failed for under a minute")
    page.fill("#id_root_cause", "A missing database index")
    page.fill("#id_summary", "Automatic rollback within seconds; hotfix prepared")
    page.fill("#id_postmortem_at_0", "2099-01-15")
    page.fill("#id_postmortem_at_1", "10:00:00")
    page.fill("#id_postmortem_attendees", "ops@amarise.invalid\ndev@amarise.invalid")
    page.fill("#id_action_items-0-title", "Add the index")
    page.fill("#id_action_items-0-owner", "dev@amarise.invalid")
    page.fill("#id_action_items-0-due_date", "2099-01-20")
    page.fill("#id_add_note", "Payments team confirmed the impact")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(page.locator("#incident-timeline")).to_contain_text("Payments team confirmed the impact")

    page.click("#schedule-postmortem")
    expect(page.locator(".messagelist")).to_contain_text("invitation sent to ops@amarise.invalid, dev@amarise.invalid")
    expect(page.locator("#incident-timeline")).to_contain_text("Post-mortem scheduled for 2099-01-15 10:00")
    screenshot(page, "incident-report")

    with page.expect_download() as download:
        page.click("#export-markdown")
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.startswith(f"# Incident #{incident.pk}: Automatic rollback of v4.0 on Staging")
    assert "A missing database index" in text and "| Add the index | dev@amarise.invalid | 2099-01-20 | Open |" in text
    assert incident.action_items.count() == 1

    page.goto(f"{live_server.url}/admin/incidents/incident/metrics/")
    expect(page.locator("#metrics-30")).to_contain_text("Critical")
    expect(page.locator("#metrics-30 svg")).to_be_visible()
    screenshot(page, "incident-metrics")
