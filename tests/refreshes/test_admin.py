"""The admin: data age on the dashboard, the environment pages, the actions, rules in and out."""

from datetime import timedelta

import psycopg
import pytest
import tablib
from django.urls import reverse
from django.utils import timezone

from environments.models import Environment
from refreshes.choices import RunKind, RunStatus
from refreshes.models import MaskingRule, RefreshRun
from refreshes.resources import MaskingRuleResource
from tests.refreshes.conftest import db_url, query, run_directly

pytestmark = pytest.mark.django_db


def _finished_run(key, kind, *, days_ago, **extra):
    now = timezone.now()
    return RefreshRun.objects.create(
        kind=kind,
        environment=Environment.objects.get(key=key),
        status=RunStatus.SUCCEEDED,
        started_at=now - timedelta(days=days_ago, minutes=3),
        finished_at=now - timedelta(days=days_ago),
        **extra,
    )


def _card(body, key):
    return body.split(f'data-environment="{key}"')[1].split("</article>")[0]


def test_dashboard__no_refresh_yet__staging_and_dev_red(seeded, admin_client):
    body = admin_client.get(reverse("admin:index")).content.decode()
    assert "never refreshed" in _card(body, "staging") and "never refreshed" in _card(body, "dev")
    assert "Data age" not in _card(body, "production")


def test_dashboard__data_older_than_policy__red_and_fresh__green(seeded, admin_client):
    _finished_run("staging", RunKind.STAGING_REFRESH, days_ago=8, leak_scan_passed=True)
    _finished_run("dev", RunKind.DEV_RESET, days_ago=0.1)
    body = admin_client.get(reverse("admin:index")).content.decode()
    staging, dev = _card(body, "staging"), _card(body, "dev")
    assert 'class="ops-bad"' in staging.split("Data age")[1].split("</dd>")[0]
    assert "policy 7 days" in staging and "Leak scan" in staging
    assert 'class="ops-ok"' in dev.split("Data age")[1].split("</dd>")[0] and "policy 1 day" in dev


def test_dashboard__two_days_old_dev__red(seeded, admin_client):
    _finished_run("dev", RunKind.DEV_RESET, days_ago=2)
    body = admin_client.get(reverse("admin:index")).content.decode()
    assert 'class="ops-bad"' in _card(body, "dev").split("Data age")[1].split("</dd>")[0]


def test_environment_page__shows_last_runs_with_leak_scan_and_test_logins(seeded, admin_client):
    _finished_run(
        "dev", RunKind.DEV_RESET, days_ago=0, row_counts={"customers": 12},
        test_logins=[{"email": "test1@dev.amarise.invalid", "password": "amarise-dev-1-0102"}],
    )  # fmt: skip
    source = {"kind": "backup_restore", "stanza": "amarise-production", "repo": 1, "backup_label": "20261124-030000F",
              "recovery_point": "2026-11-24T03:04:00+00:00", "repo_failures": []}  # fmt: skip
    _finished_run("staging", RunKind.STAGING_REFRESH, days_ago=1, leak_scan_passed=True, checks={"source": source})
    dev = Environment.objects.get(key="dev")
    body = admin_client.get(reverse("admin:environments_environment_change", args=[dev.pk])).content.decode()
    assert "test1@dev.amarise.invalid / amarise-dev-1-0102" in body and "customers: 12" in body
    staging = Environment.objects.get(key="staging")
    body = admin_client.get(reverse("admin:environments_environment_change", args=[staging.pk])).content.decode()
    assert "Leak scan passed" in body and "3 min" in body
    assert (
        "backup 20261124-030000F of amarise-production, restored from repo1; data as of 2026-11-24T03:04:00+00:00"
        in body
    )


def test_refresh_staging_now__post__queues_a_run_and_shows_it(seeded, admin_client):
    url = reverse("admin:refreshes_start_run", args=["staging_refresh"])
    asked = admin_client.post(url)  # the confirmation first: nothing queued
    assert b"masked copy of production" in asked.content and not RefreshRun.objects.exists()
    response = admin_client.post(url, {"confirm_reason": "QA needs last week's orders"})
    run = RefreshRun.objects.get()
    assert run.events.get().reason == "Requested by admin: QA needs last week's orders"
    assert run.kind == RunKind.STAGING_REFRESH and run.status == RunStatus.PENDING and run.requested_by == "admin"
    assert response.url == reverse("admin:refreshes_refreshrun_change", args=[run.pk])
    assert [s.name for s in run.steps.all()] == ["preflight", "copy", "mask", "verify", "load", "cleanup"]


def test_refresh_staging_now__already_running__refused_with_message(seeded, admin_client):
    url = reverse("admin:refreshes_start_run", args=["staging_refresh"])
    admin_client.post(url, {"confirm_reason": "first"})
    response = admin_client.post(url, {"confirm_reason": "second"}, follow=True)
    assert "still going" in response.content.decode()
    assert RefreshRun.objects.count() == 1


def test_start_view__get_or_unknown_kind__changes_nothing(seeded, admin_client):
    admin_client.get(reverse("admin:refreshes_start_run", args=["staging_refresh"]))
    admin_client.post(reverse("admin:refreshes_start_run", args=["drop_production"]))
    assert RefreshRun.objects.count() == 0


def test_check_rules_view__new_production_column__listed_as_personal(targets, mutable_production, admin_client):
    url = reverse("admin:refreshes_check_schema")
    assert "fully ruled" in admin_client.get(url).content.decode()
    with psycopg.connect(db_url(mutable_production)) as conn:
        conn.execute("ALTER TABLE addresses ADD COLUMN courier_phone text")
    body = admin_client.get(url).content.decode()
    assert "will refuse to run" in body and "addresses.courier_phone" in body and "looks personal" in body


def test_preview__after_a_refresh__shows_masked_rows_only(targets, production, staging_name, admin_client):
    url = reverse("admin:refreshes_preview")
    assert "nothing to show" in admin_client.get(url).content.decode()
    run = run_directly(RunKind.STAGING_REFRESH)
    assert run.status == RunStatus.SUCCEEDED, run.error
    body = admin_client.get(url + "?table=customers").content.decode()
    real = [r[0] for r in query(production, "SELECT email FROM customers ORDER BY id LIMIT 5")]
    assert "@customers.invalid" in body and not any(e in body for e in real)


def test_masking_rules__export_yaml_then_import__round_trip(seeded, superuser):
    exported = MaskingRuleResource().export().export("yaml")
    assert "customers" in exported and "strategy: email" in exported
    MaskingRule.objects.filter(table="customers", column="email").update(strategy="keep")
    result = MaskingRuleResource().import_data(
        tablib.Dataset().load(exported, format="yaml"), dry_run=False, user=superuser
    )
    assert not result.has_errors() and not result.has_validation_errors()
    assert MaskingRule.objects.get(table="customers", column="email").strategy == "email"


def test_masking_rules__bad_csv_import__reported_and_nothing_changed(seeded):
    before = MaskingRule.objects.count()
    data = "table,column,strategy,params,note\ncustomers,nickname,fake,{},\nusers,,truncate,,\n"
    # As the admin's import does: all or nothing.
    result = MaskingRuleResource().import_data(
        tablib.Dataset().load(data, format="csv"), dry_run=False, rollback_on_validation_errors=True
    )
    assert result.has_validation_errors()
    errors = str([row.error for row in result.invalid_rows])
    assert "dictionary" in errors and "whole table" not in errors
    assert MaskingRule.objects.count() == before


def test_masking_rule_list__shows_rules_actions_and_import_export(seeded, admin_client):
    body = admin_client.get(reverse("admin:refreshes_maskingrule_changelist")).content.decode()
    assert "Check rules against production" in body and "Preview masking" in body
    assert "Import" in body and "Export" in body and "looks personal" in body
