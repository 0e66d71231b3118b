"""Issue 18 in the browser, as the on-call engineer at 3 a.m.: the deployment page's time and honest states, a
confirmed rollback whose reason is recorded, the red bar of an aborted deployment, and the setup dead end
(mark the live slot, search a release). One journey on one seeding: deployments are built with the ORM, no engine.
"""

import re

import pytest
from playwright.sync_api import expect

from audit.models import AuditEntry
from deployments.choices import SlotRole
from deployments.models import Deployment, Release, Slot
from environments.models import Environment
from tests.browser import deployment_scenes as scenes
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def _shot(page, name):
    (ARTIFACTS / "after").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "after" / f"{name}.png"), full_page=True)


def test_journey__hold_countdown__confirmed_rollback__red_bars__mark_live__search_release(
    seeded_tx, logged_in, live_server
):
    page = logged_in
    staging, blue, green = scenes.staging_on_manual_balancer()
    deployment = scenes.shifting_deployment(staging, blue, green, hold_elapsed=20)
    url = f"{live_server.url}/admin/deployments/deployment/{deployment.pk}/change/"

    # The page at 10%: a countdown for the hold, the running step's elapsed time, why there is no chart
    page.goto(url)
    expect(page.locator("#hold-countdown")).to_have_text(re.compile(r"^4 min \d+ s$"))
    expect(page.locator('tr[data-step="traffic_10"] .step-elapsed')).to_have_text(re.compile(r"^1 min \d+ s$"))
    expect(page.locator("#no-chart")).to_contain_text("load balancer is manual")
    expect(page.locator("#deployment-progress")).to_have_text("3/6 steps")
    # An expanded step log stays expanded across the live refresh (every 2 s)
    page.locator('details[data-key="step-deploy"] summary').click()
    with page.expect_response(lambda r: "/live/" in r.url):
        pass
    expect(page.locator('details[data-key="step-deploy"]')).to_have_attribute("open", "")
    _shot(page, "deployment-in-progress")

    # Roll back now asks first: what happens, where, and why
    page.click("#roll-back-now")
    expect(page.locator("#confirm-environment")).to_have_text("Staging")
    expect(page.locator("#confirm-effect")).to_contain_text("All traffic goes back to blue")
    page.fill("#confirm-reason", "   ")
    page.click("#confirm-submit")
    expect(page.locator(".errornote")).to_contain_text("Give a reason")
    assert Deployment.objects.get(pk=deployment.pk).status == "shifting_traffic"
    _shot(page, "confirm-rollback")
    page.fill("#confirm-reason", "checkout 5xx in the storefront logs")
    page.click("#confirm-submit")
    expect(page.locator("#deployment-status")).to_have_text("Rolling back")
    expect(page.locator(".ops-instants")).to_contain_text("checkout 5xx in the storefront logs")
    expect(page.locator(".ops-timeline")).to_contain_text("Roll back now by ops: checkout 5xx in the storefront logs")
    audited = AuditEntry.objects.filter(object_id=str(deployment.pk), content_type__model="deployment")
    assert audited.filter(changes__reason=[None, "checkout 5xx in the storefront logs"]).exists()
    # The banner stays while nothing moved, and goes once the deployment moved on (here: rolled back)
    expect(page.locator(".messagelist")).to_contain_text("Roll back now: done")
    Deployment.objects.filter(pk=deployment.pk).update(status="rolled_back")
    expect(page.locator(".messagelist")).to_have_count(0)
    expect(page.locator("#deployment-progress-bar")).to_have_class(re.compile("ops-progress-ops-bad"))

    # An aborted production deployment whose steps were all skipped: red, and 0 done
    aborted = scenes.aborted_production_deployment()
    page.goto(f"{live_server.url}/admin/deployments/deployment/{aborted.pk}/change/")
    expect(page.locator("#deployment-progress")).to_have_text("0/6 steps (6 skipped)")
    expect(page.locator("#deployment-progress-bar")).to_have_class(re.compile("ops-progress-ops-bad"))
    expect(page.locator("#total-duration")).to_be_visible()
    _shot(page, "deployment-aborted")
    page.goto(f"{live_server.url}/admin/deployments/deployment/")
    row = page.locator("#result_list tr", has_text="v9.0")
    expect(row.locator("span.ops-bad", has_text="0/6 steps (6 skipped)")).to_be_visible()

    # Setup: production's slots were added idle; mark blue live, confirmed with a reason
    production = Environment.objects.get(key="production")
    v19 = Release.objects.create(version="v1.9", ref="v1.9", ref_kind="tag")
    prod_blue = Slot.objects.create(environment=production, color="blue", address="127.0.0.1:9301",
                                    server_name="blue", release=v19)  # fmt: skip
    Slot.objects.create(environment=production, color="green", address="127.0.0.1:9302", server_name="green")
    page.goto(f"{live_server.url}/admin/deployments/slot/?environment__id__exact={production.pk}")
    page.click('a[data-mark-live="blue"]')
    expect(page.locator("#confirm-environment")).to_have_text("Production")
    page.fill("#confirm-reason", "blue serves shop.amarise today")
    page.click("#confirm-submit")
    expect(page.locator(".messagelist")).to_contain_text("Production: blue is the live slot.")
    assert Slot.objects.get(pk=prod_blue.pk).role == SlotRole.LIVE

    # The start form: a searchable release field offering only what production's rule (tag v*) allows
    for i in range(30):
        Release.objects.create(version=f"v3.{i}", ref=f"v3.{i}", ref_kind="tag")
    Release.objects.create(version="rc-2", ref="release/2.0", ref_kind="branch")
    page.goto(f"{live_server.url}/admin/deployments/deployment/start/")
    page.select_option("#id_environment", label="Production")
    expect(page.locator("#preview-live")).to_have_text("blue is live on v1.9")
    expect(page.locator("#preview-steps")).to_contain_text("deploy → ")
    page.fill("#id_release", "v3.1")
    expect(page.locator("#release-options option")).to_have_count(11)  # v3.1 and v3.10 to v3.19
    options = page.locator("#release-options option").evaluate_all("els => els.map(e => e.value)")
    assert "rc-2" not in options and all(v.startswith("v3.1") for v in options)
    _shot(page, "start-form-search")
    page.fill("#id_release", "rc-2")
    page.click("input[value='Start deployment']")
    expect(page.locator(".errorlist")).to_contain_text("Production deploys from tag v*")
    page.fill("#id_release", "v3.17")
    page.click("input[value='Start deployment']")
    expect(page.locator("#deployment-status")).to_be_visible()
    assert Deployment.objects.filter(release__version="v3.17", environment=production).exists()
