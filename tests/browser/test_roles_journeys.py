import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from deployments.models import Deployment, Release, Slot
from environments.models import Environment
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser]


def _login(browser, live_server, username, password):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    return page


def _person(django_user_model, username, role):
    user = django_user_model.objects.create_user(username, f"{username}@amarise.invalid", f"pw-{username}-1")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name=role))
    return username, f"pw-{username}-1"


def test_journey__engineer_requests_production__release_manager_approves(
    seeded_tx, browser, live_server, django_user_model
):
    # Given production as seeded (four-eyes on, checklist required) with a live and an idle slot, and two people
    # holding the seeded roles
    production = Environment.objects.get(key="production")
    live = Release.objects.create(version="v1.9", ref="v1.9", ref_kind="tag")
    Slot.objects.create(environment=production, color="blue", address="127.0.0.1:9001", server_name="blue",
                        release=live, role="live")  # fmt: skip
    Slot.objects.create(environment=production, color="green", address="127.0.0.1:9002", server_name="green")
    Release.objects.create(version="v2.0", ref="v2.0", ref_kind="tag")
    engineer = _person(django_user_model, "erin", "Engineer")
    manager = _person(django_user_model, "rita", "Release manager")

    # When the engineer requests v2.0 in production
    page = _login(browser, live_server, *engineer)
    page.goto(f"{live_server.url}/admin/deployments/deployment/start/")
    page.select_option("#id_environment", label="Production")
    page.fill("#id_release", "v2.0")
    page.click("input[value='Start deployment']")

    # Then it waits for approval, and the engineer's own page offers no Approve button
    expect(page.locator("#deployment-status")).to_have_text("Awaiting approval")
    expect(page.locator("#own-request")).to_be_visible()
    expect(page.locator("#approve-deployment")).to_have_count(0)
    screenshot(page, "four-eyes-requester")
    url = page.url
    page.context.close()

    # When the release manager opens it and approves
    page = _login(browser, live_server, *manager)
    page.goto(url)
    page.fill("#approval form:has(#approve-deployment) input[name=note]", "tag checked")
    page.click("#approve-deployment")

    # Then it goes on to production's checklist, approved by them
    expect(page.locator("#deployment-status")).to_have_text("Awaiting checklist")
    expect(page.locator("#approved-by")).to_contain_text("Approved by rita")
    expect(page.locator(".ops-timeline")).to_contain_text("Approved by rita: tag checked")
    screenshot(page, "four-eyes-approved")
    page.context.close()
    assert Deployment.objects.get().approved_by.username == "rita"


def test_journey__viewer_opens_production_flags__no_way_to_flip(seeded_tx, browser, live_server, django_user_model):
    from flags.models import FlagState

    # Given a person holding the seeded Viewer role, and production's `reviews` off
    cell = FlagState.objects.get(flag__key="reviews", environment__key="production")
    viewer = _person(django_user_model, "vera", "Viewer")

    # When the viewer opens the flags table
    page = _login(browser, live_server, *viewer)
    page.goto(f"{live_server.url}/admin/flags/flag/")

    # Then production's values are shown, with no flip button, no bulk action and no form posting a flip
    value = page.locator('.ops-flag-value[data-flag="reviews"][data-environment="production"]')
    expect(value).to_have_text("on" if cell.enabled else "off")
    expect(page.locator("button.ops-flag")).to_have_count(0)
    expect(page.locator("form.ops-flag-form")).to_have_count(0)
    expect(page.locator("select[name=action]")).to_have_count(0)
    screenshot(page, "flags-viewer")

    # And posting the flip anyway, with the session's CSRF token, is refused and changes nothing
    csrf = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")  # the logout form's
    response = page.request.post(
        f"{live_server.url}/admin/flags/flag/toggle/{cell.pk}/",
        form={"csrfmiddlewaretoken": csrf, "reason": "viewer was here"},
        headers={"Referer": page.url},
    )
    page.context.close()
    assert response.status == 403
    assert FlagState.objects.get(pk=cell.pk).enabled == cell.enabled
    assert not FlagState.history.filter(id=cell.pk, history_change_reason="viewer was here").exists()
