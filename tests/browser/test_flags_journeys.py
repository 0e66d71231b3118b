"""Feature flags in the browser: flip `reviews` in staging from the table, then find it in the audit history."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.flags.conftest import clear_flag_cache, seed_flags

pytestmark = pytest.mark.browser


@pytest.fixture
def flags_seeded(transactional_db):
    # The environments' and flags' seeds only, so this journey does not hang on other apps' seeds.
    clear_flag_cache()
    yield seed_flags()
    clear_flag_cache()


def test_journey__flip_reviews_in_staging__seen_in_the_audit_history(flags_seeded, logged_in, live_server):
    page = logged_in
    page.goto(f"{live_server.url}/admin/flags/flag/")
    expect(page.locator("#result_list thead")).to_contain_text("Production")
    cell = page.locator('button.ops-flag[data-flag="reviews"][data-environment="staging"]')
    expect(cell).to_have_text("off")
    screenshot(page, "flags-table")

    cell.click()
    expect(page.locator(".messagelist")).to_contain_text("Staging: reviews is now on")
    expect(page.locator('button.ops-flag[data-flag="reviews"][data-environment="staging"]')).to_have_text("on")
    # Production still off: the flip touched one cell only.
    expect(page.locator('button.ops-flag[data-flag="reviews"][data-environment="production"]')).to_have_text("off")

    page.locator("#result_list a", has_text="reviews").first.click()
    audit = page.locator("table.ops-audit tbody tr").first
    expect(audit).to_contain_text("Staging")
    expect(audit).to_contain_text("ops")
    expect(audit).to_contain_text("Flipped in the admin")
    expect(audit.locator("td").nth(3)).to_have_text("off")
    expect(audit.locator("td").nth(4)).to_have_text("on")
    expect(audit.get_by_role("button", name="Revert")).to_be_visible()
    screenshot(page, "flags-audit")

    # And the storefront's API says so.
    page.goto(f"{live_server.url}/api/flags/staging/reviews/")
    expect(page.locator("body")).to_contain_text('"enabled": true')


def test_journey__production_flip__asks_for_confirmation_then_files_a_change_request(
    flags_seeded, logged_in, live_server
):
    page = logged_in
    page.goto(f"{live_server.url}/admin/flags/flag/")
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.locator('button.ops-flag[data-flag="reviews"][data-environment="production"]').click()
    expect(page.locator(".messagelist")).to_contain_text("awaits another user's approval")
    assert dialogs == ["Turn reviews on in production?"]
    expect(page.locator('button.ops-flag[data-flag="reviews"][data-environment="production"]')).to_have_text("off")
