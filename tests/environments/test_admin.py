"""The admin is the product: the dashboard cards, and the environment pages ops work in."""

import pytest
from django.urls import reverse

from environments.models import Environment, RequiredVariable

pytestmark = pytest.mark.django_db


def test_dashboard__shows_one_card_per_environment(seeded, admin_client):
    body = admin_client.get(reverse("admin:index")).content.decode()
    assert "AMARISÉ Ops" in body
    for key in ("local", "dev", "staging", "production"):
        assert f'data-environment="{key}"' in body
    assert "Release tags" in body and "Anonymized copy of production, refreshed weekly" in body
    assert "not checked yet" in body


def test_dashboard__after_a_failed_probe__card_is_red(seeded, admin_client):
    Environment.objects.filter(key="production").update(
        last_health_status="down", last_health_checked_at="2026-01-01T00:00Z"
    )
    body = admin_client.get(reverse("admin:index")).content.decode()
    card = body.split('data-environment="production"')[1].split("</article>")[0]
    assert 'class="ops-bad"' in card and "Down" in card


def test_dashboard__each_card_section_fetches_for_all_environments_at_once(
    seeded, admin_client, django_assert_max_num_queries
):
    from core.dashboard import _sections

    # Session, user and app list take about 6; each app's section gets all environments in one call
    # and may spend a few queries on them, never one per environment per row.
    with django_assert_max_num_queries(6 + 3 * len(_sections)):
        admin_client.get(reverse("admin:index"))


def test_change_page__lists_required_variables_inline(seeded, admin_client):
    production = Environment.objects.get(key="production")
    body = admin_client.get(reverse("admin:environments_environment_change", args=[production.pk])).content.decode()
    assert "STRIPE_SECRET_KEY" in body and "ANALYTICS_ID" in body
    assert "Recent health checks" in body


def _change_form(environment, **overrides):
    data = {
        "name": environment.name,
        "order": environment.order,
        "purpose": environment.purpose,
        "url": environment.url,
        "database": environment.database,
        "payments": environment.payments,
        "email": environment.email,
        "storage": environment.storage,
        "storage_bucket": environment.storage_bucket,
        "auth": environment.auth,
        "deploy_source": environment.deploy_source,
        "deploy_trigger": environment.deploy_trigger,
        "deployment_strategy": environment.deployment_strategy,
        "data_policy": environment.data_policy,
        "health_check_enabled": "on",
        "health_path": environment.health_path,
        "features": environment.features,
    }
    variables = list(environment.required_variables.all())
    data.update(
        {
            "required_variables-TOTAL_FORMS": len(variables),
            "required_variables-INITIAL_FORMS": len(variables),
            "required_variables-MIN_NUM_FORMS": 0,
            "required_variables-MAX_NUM_FORMS": 1000,
        }
    )
    for i, v in enumerate(variables):
        data.update(
            {
                f"required_variables-{i}-id": v.pk,
                f"required_variables-{i}-environment": environment.pk,
                f"required_variables-{i}-name": v.name,
                f"required_variables-{i}-scope": v.scope,
                f"required_variables-{i}-expected_value": v.expected_value,
                f"required_variables-{i}-description": v.description,
            }
            | ({f"required_variables-{i}-secret": "on"} if v.secret else {})
        )
    data.update(overrides)
    return data


def test_change_page__edit__saved_and_audited_with_the_user(seeded, admin_client, admin_user):
    staging = Environment.objects.get(key="staging")
    url = reverse("admin:environments_environment_change", args=[staging.pk])
    response = admin_client.post(url, _change_form(staging, url="https://uat.amarise.com"))
    assert response.status_code == 302, response.content.decode()[:2000]
    latest = Environment.history.filter(key="staging").latest("history_date")
    assert latest.url == "https://uat.amarise.com" and latest.history_user == admin_user


def test_change_page__live_payments_on_staging__refused_and_nothing_saved(seeded, admin_client):
    staging = Environment.objects.get(key="staging")
    url = reverse("admin:environments_environment_change", args=[staging.pk])
    response = admin_client.post(url, _change_form(staging, payments="stripe_live", url="https://changed.example"))
    assert response.status_code == 200
    assert "Stripe live mode is for production only." in response.content.decode()
    staging.refresh_from_db()
    assert (staging.payments, staging.url) == ("stripe_test", "https://staging.amarise.com")


def test_change_page__bad_inline_variable__nothing_saved(seeded, admin_client):
    dev = Environment.objects.get(key="dev")
    url = reverse("admin:environments_environment_change", args=[dev.pk])
    response = admin_client.post(url, _change_form(dev, purpose="Changed", **{"required_variables-0-name": "bad name"}))
    assert response.status_code == 200
    assert "UPPER_SNAKE_CASE" in response.content.decode()
    assert Environment.objects.get(pk=dev.pk).purpose == "Shared development, integration testing"
    assert not RequiredVariable.objects.filter(name="bad name").exists()


def test_environments__cannot_be_deleted_from_the_admin(seeded, admin_client):
    production = Environment.objects.get(key="production")
    response = admin_client.get(reverse("admin:environments_environment_delete", args=[production.pk]))
    assert response.status_code == 403
    changelist = admin_client.get(reverse("admin:environments_environment_changelist")).content.decode()
    assert "delete_selected" not in changelist


def test_run_health_check_now__environment_with_checks_off__skipped_with_a_warning(
    seeded, admin_client, django_capture_on_commit_callbacks
):
    local = Environment.objects.get(key="local")
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("admin:environments_environment_changelist"),
            {"action": "run_health_check_now", "_selected_action": [local.pk]},
            follow=True,
        )
    assert callbacks == []
    assert "Not probed, health checks are off: Local" in response.content.decode()


def test_dashboard__fresh_check__reads_just_now(seeded, admin_client):
    from django.utils import timezone

    Environment.objects.filter(key="dev").update(
        last_health_status="up", last_health_checked_at=timezone.now(), last_health_latency_ms=42.4
    )
    body = admin_client.get(reverse("admin:index")).content.decode()
    assert "Up, 42 ms · just now" in body
