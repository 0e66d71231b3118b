import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_journey__log_in__see_the_four_environment_cards(seeded_tx, logged_in, live_server):
    page = logged_in
    expect(page.locator("#site-name")).to_have_text("AMARISÉ Ops")
    cards = page.locator("article.ops-card")
    expect(cards).to_have_count(4)
    expect(cards.locator("h2")).to_have_text(["Production", "Staging", "Dev", "Local"])  # production first
    production = page.locator('article[data-environment="production"]')
    expect(production).to_contain_text("https://amarise.com")
    expect(production).to_contain_text("Release tags")
    expect(production).to_contain_text("Real customer data")
    screenshot(page, "dashboard")

    production.locator("h2 a").click()
    expect(page.locator("h1")).to_have_text("Change environment")
    expect(page.locator("body")).to_contain_text("STRIPE_SECRET_KEY")
    screenshot(page, "environment-production")


def test_journey__wrong_password__stays_on_login(seeded_tx, page, live_server, ops_login):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", ops_login[0])
    page.fill("#id_password", "not-the-password")
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator("article.ops-card")).to_have_count(0)
