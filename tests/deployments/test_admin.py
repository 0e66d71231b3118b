"""The deployment pages ops work in: start, watch, decide. Every action is permission-checked."""

import pytest
from django.urls import reverse

from deployments import services
from deployments.choices import DeploymentStatus as S
from deployments.models import Deployment, MetricSample, Release

pytestmark = pytest.mark.django_db


@pytest.fixture
def v2(db):
    return Release.objects.create(version="v2.0", ref="v2.0", ref_kind="tag")


def test_start_view__refused_release__error_shown_nothing_created(production, admin_client):
    Release.objects.create(version="rc", ref="release/2.0", ref_kind="branch")
    response = admin_client.post(
        reverse("admin:deployments_deployment_start"), {"release": "rc", "environment": production.pk}
    )
    assert response.status_code == 200
    assert "Production deploys from tag v*" in response.content.decode()
    assert not Deployment.objects.exists()


def test_start_view__valid__redirects_to_the_deployment(production, v2, admin_client):
    response = admin_client.post(
        reverse("admin:deployments_deployment_start"), {"release": "v2.0", "environment": production.pk}
    )
    deployment = Deployment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:deployments_deployment_change", args=[deployment.pk])
    assert deployment.created_by.username == "admin"


def test_detail__shows_progress_split_checklist_and_timeline(production, v2, admin_client, admin_user):
    deployment = services.start_deployment(release=v2, environment=production, user=admin_user)
    Deployment.objects.filter(pk=deployment.pk).update(status=S.SHIFTING_TRAFFIC, traffic_weight=50)
    deployment.steps.filter(name__in=["deploy", "smoke_tests", "health_checks", "traffic_10"]).update(status="passed")
    body = admin_client.get(reverse("admin:deployments_deployment_change", args=[deployment.pk])).content.decode()
    assert "4/6 steps" in body
    assert "blue 50%" in body and "green 50%" in body
    assert "Rollback plan documented" in body and 'data-check="rollback_plan_documented"' in body
    assert "Created: v2.0 to Production." in body
    assert 'id="roll-back-now"' in body
    assert 'data-live="1"' in body


def test_detail__chart_draws_rate_and_thresholds(production, v2, admin_client, admin_user):
    deployment = services.start_deployment(release=v2, environment=production, user=admin_user)
    green = deployment.to_slot
    from django.utils import timezone

    now = timezone.now()
    for i, (req, err) in enumerate([(0, 0), (100, 1), (200, 12)]):
        MetricSample.objects.create(
            deployment=deployment, slot=green, taken_at=now + timezone.timedelta(seconds=i), req_tot=req, hrsp_5xx=err
        )
    body = admin_client.get(reverse("admin:deployments_deployment_live", args=[deployment.pk])).content.decode()
    assert 'class="rate"' in body and "5xx 5%" in body and "p95 3s" in body


def test_live_fragment__final_deployment__stops_refreshing(production, v2, admin_client, admin_user):
    deployment = services.start_deployment(release=v2, environment=production, user=admin_user)
    services.abort(deployment_id=deployment.pk, user=admin_user)
    body = admin_client.get(reverse("admin:deployments_deployment_live", args=[deployment.pk])).content.decode()
    assert 'data-live-state="0"' in body and "Aborted" in body


def test_actions__need_the_operate_permission(production, v2, client, make_user, admin_user):
    deployment = services.start_deployment(release=v2, environment=production, user=admin_user)
    viewer = make_user("viewer", "deployments.view_deployment")
    client.force_login(viewer)
    response = client.post(reverse("admin:deployments_deployment_act", args=[deployment.pk, "abort"]))
    assert response.status_code == 403
    assert Deployment.objects.get(pk=deployment.pk).status == S.AWAITING_CHECKLIST
    response = client.post(reverse("admin:deployments_deployment_check", args=[deployment.pk, "changelog_updated"]))
    assert response.status_code == 403


def test_abort_action__recorded_with_the_person(production, v2, admin_client, admin_user):
    deployment = services.start_deployment(release=v2, environment=production, user=admin_user)
    url = reverse("admin:deployments_deployment_act", args=[deployment.pk, "abort"])
    # First the confirmation: production, what happens, a reason asked for; nothing done yet
    page = admin_client.post(url).content.decode()
    assert 'id="confirm-reason"' in page and "this is production" in page and "No traffic moves." in page
    assert Deployment.objects.get(pk=deployment.pk).status == S.AWAITING_CHECKLIST
    # A blank reason: asked again, nothing done
    assert admin_client.post(url, {"confirm_reason": "  "}).status_code == 400
    assert Deployment.objects.get(pk=deployment.pk).status == S.AWAITING_CHECKLIST
    admin_client.post(url, {"confirm_reason": "wrong release picked"})
    deployment.refresh_from_db()
    assert deployment.status == S.ABORTED
    event = deployment.events.get(user=admin_user, new_status=S.ABORTED)
    assert event.detail == "Aborted by admin: wrong release picked"
    from audit.models import AuditEntry

    audited = AuditEntry.objects.filter(object_id=str(deployment.pk), content_type__model="deployment")
    assert audited.filter(changes__reason=[None, "wrong release picked"]).exists()


def test_rollback_action__refused_before_traffic__message_and_no_change(production, v2, admin_client, admin_user):
    deployment = services.start_deployment(release=v2, environment=production, user=admin_user)
    response = admin_client.post(
        reverse("admin:deployments_deployment_act", args=[deployment.pk, "rollback"]),
        {"confirm_reason": "errors"},
        follow=True,
    )
    assert "there is no traffic to roll back" in response.content.decode()
    assert Deployment.objects.get(pk=deployment.pk).status == S.AWAITING_CHECKLIST


def test_check_action__checks_the_item_for_the_person(production, v2, admin_client, admin_user):
    deployment = services.start_deployment(release=v2, environment=production, user=admin_user)
    admin_client.post(reverse("admin:deployments_deployment_check", args=[deployment.pk, "changelog_updated"]))
    assert deployment.checklist.get(item__key="changelog_updated").checked_by == admin_user


def test_dashboard_card__live_slot_and_deployment_in_flight(production, v2, admin_client, admin_user):
    deployment = services.start_deployment(release=v2, environment=production, user=admin_user)
    body = admin_client.get(reverse("admin:index")).content.decode()
    card = body.split('data-environment="production"')[1].split("</article>")[0]
    assert "blue · v1.9" in card
    assert f'href="/admin/deployments/deployment/{deployment.pk}/change/"' in card


def test_changelist__lists_with_progress(production, v2, admin_client, admin_user):
    services.start_deployment(release=v2, environment=production, user=admin_user)
    body = admin_client.get(reverse("admin:deployments_deployment_changelist")).content.decode()
    assert "0/6" in body and "Start deployment" in body


def test_confirm_weights__banner_carries_the_state_it_was_said_in(production, v2, admin_client, admin_user):
    from deployments import progress

    deployment = services.start_deployment(release=v2, environment=production, user=admin_user)
    Deployment.objects.filter(pk=deployment.pk).update(
        status=S.SHIFTING_TRAFFIC, traffic_step=0, awaiting_weights="blue 90 / green 10"
    )
    url = reverse("admin:deployments_deployment_act", args=[deployment.pk, "confirm"])
    body = admin_client.post(url, follow=True).content.decode()
    said_in = progress.state_signature(Deployment.objects.get(pk=deployment.pk))
    assert f"ops-state-{said_in}" in body and f'data-signature="{said_in}"' in body
    # The engine asks for the next weights: the page's state is no longer the banner's, so the page drops it
    Deployment.objects.filter(pk=deployment.pk).update(awaiting_weights="blue 50 / green 50")
    assert progress.state_signature(Deployment.objects.get(pk=deployment.pk)) != said_in


def test_continue_action__asks_a_reason__resumes_with_it_on_the_timeline(production, v2, admin_client, admin_user):
    deployment = services.start_deployment(release=v2, environment=production, user=admin_user)
    Deployment.objects.filter(pk=deployment.pk).update(
        status=S.PAUSED, paused_from=S.SHIFTING_TRAFFIC, traffic_weight=10, pause_reason="p95 over 3 s"
    )
    url = reverse("admin:deployments_deployment_act", args=[deployment.pk, "continue"])
    page = admin_client.post(url).content.decode()
    assert "goes on to the next step" in page and Deployment.objects.get(pk=deployment.pk).status == S.PAUSED
    admin_client.post(url, {"confirm_reason": "p95 spike was the CDN, not us"})
    assert Deployment.objects.get(pk=deployment.pk).status == S.SHIFTING_TRAFFIC
    assert deployment.events.filter(detail="Continued by admin: p95 spike was the CDN, not us").exists()
