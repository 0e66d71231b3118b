"""Backups in the browser: open the page, back up now, watch the run finish, see the card turn green."""

import pytest
from playwright.sync_api import expect

from backups import monitor
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_journey__back_up_now__run_finishes_and_card_turns_green(worker, protected, pg_cluster, logged_in, live_server):  # noqa: F811
    page = logged_in
    pg_cluster.switch_and_wait_archived()
    assert monitor.check_rpo(database_id=protected.pk).ok
    card = page.locator('article[data-environment="production"] dl.ops-section-backups')
    expect(card.locator("dd").first).to_have_class("ops-bad")
    expect(card).to_contain_text("none")

    card.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("Backups: Production")
    expect(page.locator("#bk-overall")).to_have_text("RED")
    page.get_by_role("button", name="Back up now (full)").click()
    expect(page.locator("#confirm-environment")).to_have_text("Production")  # asked first, with a reason
    page.fill("#confirm-reason", "first backup after setup")
    page.click("#confirm-submit")
    expect(page.locator(".messagelist")).to_contain_text("queued")
    screenshot(page, "backups-run-queued")

    # The page refreshes itself while the run is in flight.
    expect(page.locator('#bk-runs tr[data-status="good"]')).to_have_count(1, timeout=90_000)
    expect(page.locator("#bk-rpo")).to_have_class("bk-ok")
    screenshot(page, "backups-run-good")

    page.goto(f"{live_server.url}/admin/")
    card = page.locator('article[data-environment="production"] dl.ops-section-backups')
    expect(card.locator("dd").nth(0)).to_have_class("ops-ok")
    expect(card.locator("dd").nth(1)).to_have_class("ops-ok")
    expect(card).to_contain_text("F ·")
    screenshot(page, "backups-card-green")
