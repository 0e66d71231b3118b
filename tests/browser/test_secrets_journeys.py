"""Secrets in the browser: production's secrets page shows one secret overdue; a database password is rotated
(a second person approves) and the audit rows appear. moto's server stands in for AWS Secrets Manager (a paid
cloud service); the role lives in a PostgreSQL cluster of the test's own with password authentication."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from secrets_registry import services
from secrets_registry.models import SecretReference
from tests.browser.conftest import screenshot
from tests.secrets_registry.conftest import (  # noqa: F401 - fixtures
    ADMIN_URL_VARIABLE,
    DR_REGION,
    INITIAL_PASSWORD,
    moto_server,
    moto_url,
    role_cluster,
    secrets_seeded_tx,
    secrets_worker,
)

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_journey__one_secret_overdue__rotate_database_password__audit_rows_appear(
    secrets_seeded_tx, secrets_worker, role_cluster, logged_in, live_server, browser  # noqa: F811
):  # fmt: skip
    from secrets_registry.drivers import manager as get_manager

    manager = get_manager()
    with role_cluster.admin() as conn:
        conn.execute(f"ALTER ROLE amarise_app PASSWORD '{INITIAL_PASSWORD}'")
    for reference in SecretReference.objects.filter(environment__key="production"):
        value = role_cluster.url(INITIAL_PASSWORD) if reference.variable == "DATABASE_URL" else "placeholder"
        manager.create(reference.name, value=value, replica_regions=(DR_REGION,))
    SecretReference.objects.filter(name="amarise/production/DATABASE_URL").update(admin_url_variable=ADMIN_URL_VARIABLE)
    SecretReference.objects.filter(name="amarise/production/STRIPE_SECRET_KEY").update(
        last_rotated_at=timezone.now() - timezone.timedelta(days=100)
    )
    services.check_secrets()
    page = logged_in

    page.goto(f"{live_server.url}/admin/")
    card = page.locator('article[data-environment="production"] dl.ops-section-secrets')
    expect(card).to_contain_text("0 missing, 1 overdue")
    card.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("Secrets: Production")
    expect(page.locator("#sr-overall")).to_have_text("RED")
    expect(page.locator('tr[data-tone="bad"]')).to_have_count(1)
    expect(page.locator('tr[data-secret="amarise/production/STRIPE_SECRET_KEY"]')).to_contain_text("(overdue)")
    screenshot(page, "secrets-one-overdue")

    page.locator('tr[data-secret="amarise/production/DATABASE_URL"]').get_by_role("button", name="Rotate now").click()
    expect(page.locator(".messagelist")).to_contain_text("awaits a second person's approval")

    # A second person approves in their own session.
    get_user_model().objects.create_superuser("second", "second@amarise.invalid", "second-password-1")
    other = browser.new_context().new_page()
    other.goto(f"{live_server.url}/admin/login/?next=/admin/secrets_registry/rotationrun/")
    other.fill("#id_username", "second")
    other.fill("#id_password", "second-password-1")
    other.click("input[type=submit]")
    other.locator('input[name="_selected_action"]').first.check()
    other.select_option('select[name="action"]', "approve")
    other.locator('button[name="index"]').click()
    expect(other.locator(".messagelist")).to_contain_text("approved and queued")
    other.context.close()

    page.reload()  # the page refreshes itself while the rotation runs
    expect(page.locator("#sr-audit")).to_contain_text("Rotation 4/4: AWSCURRENT moved", timeout=60_000)
    for step in ("Rotation 1/4", "Rotation 2/4", "Rotation 3/4"):
        expect(page.locator("#sr-audit")).to_contain_text(step)
    expect(page.locator("#sr-runs")).to_contain_text("Succeeded")
    screenshot(page, "secrets-rotated-audit")
    assert not role_cluster.connects(role_cluster.url(INITIAL_PASSWORD))
