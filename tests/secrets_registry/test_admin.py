"""The secrets page, its actions, the audit search and export, and the dashboard card.
moto's server stands in for AWS Secrets Manager (a paid cloud service)."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from secrets_registry import services
from secrets_registry.choices import ActorKind, AuditAction, RunStatus
from secrets_registry.models import AccessAudit, RotationRun, SecretReference
from tests.secrets_registry.conftest import provision

PAGE = "admin:secrets_registry_secretreference_environment"
ACT = "admin:secrets_registry_secretreference_act"


@pytest.fixture
def provisioned(secrets_seeded, manager):
    provision(manager, SecretReference.objects.filter(environment__key="production"))
    return manager


def _rows(html):
    return html.count('class="sr-row"')


def test_secrets_page__statuses_colour_coded__last_20_audit_rows(provisioned, client, superuser):
    services.check_secrets()
    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    SecretReference.objects.filter(pk=stripe.pk).update(last_rotated_at=timezone.now() - timedelta(days=100))
    services.check_secrets()
    for n in range(25):
        services.record_access(reference=stripe, action=AuditAction.READ, actor_kind=ActorKind.TASK,
                               actor="test", detail=f"read {n:02d}")  # fmt: skip
    client.force_login(superuser)

    html = client.get(reverse(PAGE, args=["production"])).content.decode()

    assert _rows(html) == 7
    assert 'data-status="red"' in html
    assert 'data-secret="amarise/production/STRIPE_SECRET_KEY" data-tone="bad"' in html
    assert 'data-secret="amarise/production/DATABASE_URL" data-tone="ok"' in html
    assert "(overdue)" in html
    assert "read 24" in html and "read 05" in html and "read 04" not in html  # the last 20 only


def test_check_now__from_the_page__records_and_reports(provisioned, client, make_user):
    user = make_user("ops1", "secrets_registry.view_secretreference", "secrets_registry.check_secrets")
    client.force_login(user)
    provisioned.delete("amarise/production/ANALYTICS_ID")

    response = client.post(reverse(ACT, args=["production"]), {"action": "check"}, follow=True)

    text = response.content.decode()
    assert "amarise/production/ANALYTICS_ID: not found in the manager" in text
    assert SecretReference.objects.get(name="amarise/production/ANALYTICS_ID").exists is False


def test_check_now__without_permission__refused_and_nothing_checked(provisioned, client, make_user):
    client.force_login(make_user("viewer1", "secrets_registry.view_secretreference"))
    response = client.post(reverse(ACT, args=["production"]), {"action": "check"})
    # (A bare viewer does not see the secrets page it is sent back to: SecretPagesMixin.)
    assert "secrets_registry.check_secrets" in str([m.message for m in get_messages(response.wsgi_request)])
    assert not SecretReference.objects.filter(last_checked_at__isnull=False).exists()


def test_rotate_now__production__awaits_a_second_person(provisioned, client, make_user):
    user = make_user("ops1", "secrets_registry.view_secretreference", "secrets_registry.rotate_secrets")
    client.force_login(user)
    database = SecretReference.objects.get(name="amarise/production/DATABASE_URL")

    response = client.post(reverse(ACT, args=["production"]), {"action": "rotate", "reference": database.pk},
                           follow=True)  # fmt: skip

    assert "awaits a second person" in response.content.decode()
    assert RotationRun.objects.get().status == RunStatus.AWAITING_APPROVAL


def test_mark_rotated__from_the_page__empty_note_refused__note_recorded(provisioned, client, make_user):
    user = make_user("ops1", "secrets_registry.view_secretreference", "secrets_registry.mark_rotated")
    client.force_login(user)
    email = SecretReference.objects.get(name="amarise/production/EMAIL_API_KEY")
    url = reverse(ACT, args=["production"])

    refused = client.post(url, {"action": "mark_rotated", "reference": email.pk, "note": ""}, follow=True)
    assert "Nothing done" in refused.content.decode()
    assert not AccessAudit.objects.exists()

    client.post(url, {"action": "mark_rotated", "reference": email.pk, "note": "new key from the provider"})
    email.refresh_from_db()
    assert email.last_rotated_at is not None
    assert AccessAudit.objects.get().detail == "new key from the provider"


def test_audit__search_and_csv_export__no_value_columns(provisioned, client, superuser):
    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    services.record_access(reference=stripe, action=AuditAction.READ, actor_kind=ActorKind.SERVICE_ACCOUNT,
                           actor="storefront-production", version_id="v-123", detail="=cmd()")  # fmt: skip
    client.force_login(superuser)
    changelist = reverse("admin:secrets_registry_accessaudit_changelist")

    found = client.get(changelist, {"q": "v-123"}).content.decode()
    assert "storefront-production" in found

    response = client.post(
        changelist, {"action": "export_csv", "_selected_action": [a.pk for a in AccessAudit.objects.all()]}
    )
    lines = response.content.decode().splitlines()
    assert response["Content-Type"] == "text/csv"
    assert lines[0] == "at,actor_kind,actor,action,secret_name,version_id,detail"
    assert "service_account,storefront-production,read,amarise/production/STRIPE_SECRET_KEY,v-123,'=cmd()" in lines[1]


def test_audit__no_change_or_delete_in_the_admin(provisioned, client, superuser):
    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    row = services.record_access(reference=stripe, action=AuditAction.READ, actor_kind=ActorKind.TASK, actor="t")
    client.force_login(superuser)
    assert (
        client.post(reverse("admin:secrets_registry_accessaudit_delete", args=[row.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert AccessAudit.objects.filter(pk=row.pk).exists()


def test_dashboard_card__missing_and_overdue_counts(provisioned, client, superuser):
    services.check_secrets()
    provisioned.delete("amarise/production/SITE_URL")
    SecretReference.objects.filter(name="amarise/production/EMAIL_API_KEY").update(
        last_rotated_at=timezone.now() - timedelta(days=120)
    )
    services.check_secrets()
    client.force_login(superuser)

    html = client.get(reverse("admin:index")).content.decode()

    assert "1 missing, 1 overdue" in html
    assert reverse(PAGE, args=["production"]) in html


def test_policy_export__from_the_page__needs_the_permission(provisioned, client, make_user, superuser):
    url = reverse("admin:secrets_registry_secretreference_policy", args=["production"])
    client.force_login(make_user("viewer1", "secrets_registry.view_secretreference"))
    assert client.get(url).status_code == 403
    client.force_login(superuser)
    response = client.get(url)
    assert response.json()["environment"] == "production"


def test_environment_page__secrets_panel__red_count_and_link(provisioned, client, superuser, env):
    provisioned.delete("amarise/production/SITE_URL")
    services.check_secrets()
    client.force_login(superuser)

    html = client.get(reverse("admin:environments_environment_change", args=[env("production").pk])).content.decode()

    assert '<span class="ops-bad">1 red</span> of 7 secrets' in html
    assert reverse(PAGE, args=["production"]) in html


def test_check_now__changelist_action__selected_references_only(provisioned, client, superuser):
    client.force_login(superuser)
    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    changelist = reverse("admin:secrets_registry_secretreference_changelist")

    response = client.post(changelist, {"action": "check_now", "_selected_action": [stripe.pk]}, follow=True)

    assert "1 secrets ok" in response.content.decode()
    assert list(SecretReference.objects.filter(last_checked_at__isnull=False)) == [stripe]
