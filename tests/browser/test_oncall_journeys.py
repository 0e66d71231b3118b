"""Issue 18 (items 3, 4, 5, 8, 9) as an on-call engineer sees it at 3 a.m., in one module on ONE seeded live server.

The module seeds once and starts its own live server thread (pytest-django's live_server makes every test
transactional, which would re-seed per test); the journeys run in order on that data and the module flushes at
its end.
"""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, screenshot

pytestmark = pytest.mark.browser
PASSWORD = "journey-password-1"
LONG_TITLE = (
    "The backup monitor found that the recovery point objective of the production database stanza main was "
    "breached: the newest archived WAL segment is 42 minutes old against a 15 minute target"
)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from core.seeding import seed_all
    from environments.models import Environment, HealthCheck

    with django_db_blocker.unblock(), override_settings(OPS_DASHBOARD_REFRESH_SECONDS=1):
        flush()  # whatever an earlier module left
        seed_all()
        users = get_user_model().objects
        users.create_superuser("ops", "ops@amarise.invalid", PASSWORD)
        viewer = users.create_user("viewer", "viewer@amarise.invalid", PASSWORD, is_staff=True)
        viewer.groups.add(Group.objects.get(name="Viewer"))
        # Production: up until 8 minutes ago, every probe failing since 7 minutes ago.
        now = timezone.now()
        production = Environment.objects.get(key="production")
        for minutes, status in [(9, "up"), (8, "up"), (7, "down"), (4, "down"), (1, "down")]:
            HealthCheck.objects.create(environment=production, checked_at=now - timedelta(minutes=minutes),
                                       status=status, detail="HTTP 503" if status == "down" else "")  # fmt: skip
        Environment.objects.filter(pk=production.pk).update(
            last_health_status="down", last_health_checked_at=now - timedelta(minutes=1), last_health_detail="HTTP 503"
        )
        server = LiveServerThread("127.0.0.1", _StaticFilesHandler, connections_override={}, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        try:
            yield {"url": f"http://127.0.0.1:{server.port}", "production": production, "blocker": django_db_blocker}
        finally:
            server.terminate()
            flush()


def flush():
    """Every table emptied as after a transactional test (DELETE, tests/conftest.py); content types and permissions
    kept. TRUNCATE of the 120 tables and post_migrate after it cost ~10 s."""
    call_command("flush", interactive=False, verbosity=0, reset_sequences=False)


@pytest.fixture
def orm(world):
    """ORM access inside a journey (the module's data is committed; nothing here is rolled back)."""
    from django.db import connections

    with world["blocker"].unblock():
        yield
        # Not a django_db test, so pytest-django closes nothing: the journey's connection was still open (idle after
        # its last INSERT) when the run ended, and the test database could not be dropped (a PytestWarning).
        connections.close_all()


def _login(page, url, username="ops"):
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_dashboard__down_for_minutes__production_first__refreshes_live__open_link_matches(world, orm, page):
    from incidents.public import Severity, open_incident

    url = world["url"]
    _login(page, url)
    attention = page.locator("#ops-attention")
    expect(attention).to_contain_text("Production is down for 7 min")
    expect(page.locator('article[data-environment="production"]')).to_contain_text("Down for 7 min")
    expect(page.locator("article.ops-card h2")).to_have_text(["Production", "Staging", "Dev", "Local"])
    expect(page.locator("article.ops-card-quiet")).to_have_attribute("data-environment", "local")
    ARTIFACTS.joinpath("after").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "after" / "dashboard.png"), full_page=True)

    # An incident opens while the page is open: the index shows it without a reload.
    critical = Severity.objects.get(key="critical")
    open_incident(title="Checkout 5xx on production", environment=world["production"], severity=critical,
                  source="alert", cause_key="journey:checkout")  # fmt: skip
    expect(attention).to_contain_text("Critical · #", timeout=10_000)
    expect(attention).to_contain_text("Checkout 5xx on production")
    expect(page.locator("#ops-refreshed")).to_contain_text("refreshes every 1 s")

    # The card's "1 open" lists exactly the open incidents of production.
    link = page.locator('article[data-environment="production"] .ops-section-incidents a')
    expect(link).to_have_text("1 open")
    link.click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)


def test_incidents__two_identical_failures__one_short_incident_repeat_in_its_timeline(world, orm, page):
    from incidents.public import Incident, Severity, open_or_join_incident

    high = Severity.objects.get(key="high")
    first, created = open_or_join_incident(title=LONG_TITLE, environment=world["production"], severity=high,
                                           source="alert", cause_key="alert:BackupRpoBreach")  # fmt: skip
    second, again = open_or_join_incident(title=LONG_TITLE, environment=world["production"], severity=high,
                                          source="alert", cause_key="alert:BackupRpoBreach")  # fmt: skip
    assert (created, again, second.pk) == (True, False, first.pk)
    assert Incident.objects.filter(cause_key="alert:BackupRpoBreach").count() == 1

    _login(page, world["url"])
    page.goto(f"{world['url']}/admin/incidents/incident/?q=recovery+point")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    title = rows.first.locator("td.field-title a").inner_text()
    assert len(title) <= 80 and title.endswith("…"), title
    expect(rows.first.locator(".ops-sev")).to_have_text("High")
    rows.first.locator("td.field-title a").click()
    timeline = page.locator("#incident-timeline")
    expect(timeline.locator("li").first).to_contain_text("Happened again")
    expect(timeline).to_contain_text("42 minutes old against a 15 minute target")


def test_incident_page__instants_read_only__corrected_with_a_reason__acknowledged(world, orm, page):
    from incidents.public import Incident

    incident = Incident.objects.get(cause_key="alert:BackupRpoBreach")
    _login(page, world["url"])
    page.goto(f"{world['url']}/admin/incidents/incident/{incident.pk}/change/")
    expect(page.locator("#incident-status")).to_have_text("Investigating")
    expect(page.locator("#incident-severity")).to_have_text("High")
    expect(page.locator("#incident-age")).to_contain_text("min")
    expect(page.locator("#incident-compliance")).to_contain_text("Detection")
    # The recorded instants are text, not inputs; the severity cannot be deleted from here.
    expect(page.locator("#id_detected_at_0")).to_have_count(0)
    expect(page.locator("#id_decided_at_0")).to_have_count(0)
    expect(page.locator(".field-detected .readonly")).to_contain_text(" UTC")
    expect(page.locator("#delete_id_severity")).to_have_count(0)
    for heading in ["Step 1 · Confirm the issue", "Step 2 · Switch traffic", "Step 3 · Investigate", "Step 4"]:
        expect(page.locator("#content-main")).to_contain_text(heading)

    page.click("#acknowledge")
    expect(page.locator("#incident-ack")).to_contain_text("by ops")

    page.fill("#timeline-text", "Paged the DBA")
    page.click("#timeline-add button")
    expect(page.locator("#incident-timeline li").first).to_contain_text("Paged the DBA")

    page.click("#correct-instant summary")
    page.select_option("#correct-field", "detected_at")
    page.fill("#correct-value", (incident.started_at + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S"))
    page.fill("#correct-reason", "The monitor ran a minute late")
    page.click("#correct-instant button")
    expect(page.locator(".messagelist")).to_contain_text("Corrected")
    expect(page.locator("#incident-timeline li").first).to_contain_text("The monitor ran a minute late")
    screenshot(page, "after/incident-page")


def test_navigation__sections__celery_internals_hidden__styled_403(world, orm, page):
    _login(page, world["url"], "viewer")
    modules = page.locator("#content-main .module caption")
    expect(modules.first).to_contain_text("§1–2 Environments")
    expect(page.locator("#content-main")).to_contain_text("§5 Rollback and incidents")
    expect(page.locator("#content-main")).not_to_contain_text("Clocked")
    expect(page.locator("#content-main")).not_to_contain_text("Solar events")

    page.goto(f"{world['url']}/admin/incidents/incident/add/")
    expect(page.locator("#refused h1")).to_have_text("You may not do this")
    expect(page.locator("#missing-permission")).to_have_text("incidents.add_incident")
    expect(page.locator("#granting-roles")).to_contain_text("Engineer")
    screenshot(page, "after/refused-403")
    page.click("#go-back")
    expect(page.locator("#site-name")).to_be_visible()


def test_consistency__status_page_production_only__request_buttons_and_marker__failed_run_page__human_durations(
    world, orm, page
):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from environments.models import Environment
    from flags.models import FlagState
    from flags.services import set_state
    from refreshes.models import RefreshRun

    url = world["url"]
    # The public status page shows production only (OPS_STATUS_PAGE_ENVIRONMENTS defaults to it).
    page.goto(f"{url}/status/")
    expect(page.locator("body")).to_contain_text("Production")
    expect(page.locator("body")).not_to_contain_text("Staging")
    expect(page.locator("body")).not_to_contain_text("Dev")

    # A production flip by another person is a pending request: a marker in the matrix, buttons on its page.
    other = get_user_model().objects.create_superuser("ops2", "ops2@amarise.invalid", PASSWORD)
    state = FlagState.objects.filter(environment__key="production").select_related("flag").first()
    outcome = set_state(state_id=state.pk, enabled=not state.enabled, actor=other, reason="journey: item 9")
    assert outcome.change_request is not None
    _login(page, url)
    page.goto(f"{url}/admin/flags/flag/")
    expect(page.locator(f'[data-pending="{state.flag.key}"]')).to_contain_text("pending")
    page.goto(f"{url}/admin/flags/changerequest/{outcome.change_request.pk}/change/")
    expect(page.locator("#approve-request")).to_have_text("Approve and apply")
    expect(page.locator("#reject-request")).to_be_visible()

    # A failed refresh run: titled by the run, not "Change refresh run"; its duration reads like a person's.
    finished = timezone.now()
    run = RefreshRun.objects.create(
        kind="staging_refresh", environment=Environment.objects.get(key="staging"), status="failed",
        started_at=finished - timedelta(minutes=2, seconds=3), finished_at=finished,
        error="pg_dump: connection refused",
    )  # fmt: skip
    page.goto(f"{url}/admin/refreshes/refreshrun/{run.pk}/change/")
    expect(page.locator("h1")).not_to_contain_text("Change refresh run")
    expect(page.locator("#content")).to_contain_text("pg_dump: connection refused")
    page.goto(f"{url}/admin/refreshes/refreshrun/")
    expect(page.locator("#result_list")).to_contain_text("2 min 3 s")
    expect(page.locator("#result_list")).not_to_contain_text("0:02:03")
    screenshot(page, "oncall-consistency")
