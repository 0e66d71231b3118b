import pytest
from playwright.sync_api import expect

from environments.models import Environment
from migrations_log.executor import apply_pending
from migrations_log.services import report_tested_locally
from tests.browser.conftest import screenshot
from tests.migrations_log.conftest import standin_databases, targets_tx  # noqa: F401 - fixtures
from tests.migrations_log.helpers import BASE, release

pytestmark = [pytest.mark.browser]


def test_journey__upload_apply_on_staging_verify__production_may_deploy(targets_tx, logged_in, live_server, tmp_path):  # noqa: F811
    page = logged_in
    paths = []
    for name, sql in BASE.items():
        (tmp_path / name).write_text(sql)
        paths.append(str(tmp_path / name))

    page.goto(f"{live_server.url}/admin/migrations_log/migration/")
    page.click("text=Upload a release's migrations")
    page.fill("#id_version", "2.0")
    page.fill("#id_ref", "release/2.0")
    page.select_option("#id_ref_kind", "branch")
    page.set_input_files("#id_files", paths)
    page.click("input[value='Register']")

    expect(page.locator("#migration-matrix")).to_contain_text("0002_create_wishlists")
    expect(page.locator('#promotion li[data-environment="staging"]')).to_contain_text("Not reported tested locally")

    report_tested_locally(version="2.0")
    assert apply_pending(release=release("2.0"), environment=Environment.objects.get(key="staging")).ok
    page.reload()
    expect(page.locator('td[data-environment="staging"]').first).to_contain_text("Applied")
    expect(page.locator('#promotion li[data-environment="production"]')).to_contain_text("Unverified on staging")

    staging = Environment.objects.get(key="staging")
    page.goto(f"{live_server.url}/admin/migrations_log/migrationrun/?environment__id__exact={staging.pk}")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "verify_runs")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("Verified 0001_add_gift_wrap on Staging")

    page.goto(f"{live_server.url}/admin/migrations_log/migration/release/{release('2.0').pk}/")
    expect(page.locator('td[data-environment="staging"]').first).to_contain_text("verified by ops")
    expect(page.locator('#promotion li[data-environment="production"]')).to_contain_text("may deploy")
    screenshot(page, "migrations-matrix-verified")
