"""Four-eyes on production deployments: from the admin, the API or the git hook, a production deployment waits
until a second person with the approve permission approves it; the requester never can."""

import hashlib
import hmac
import json

import pytest
from django.urls import reverse

from deployments import services
from deployments.choices import DeploymentStatus as S
from deployments.exceptions import DeploymentRefused, NotAllowed
from deployments.models import Deployment, DeploymentPolicy, Release

pytestmark = pytest.mark.django_db

ENGINEER = ("deployments.view_deployment", "deployments.operate_deployment", "deployments.check_checklist")
RELEASE_MANAGER = (*ENGINEER, "deployments.deploy_production", "deployments.approve_deployment")


@pytest.fixture
def seeded(db):
    """Only what four-eyes needs, environments and their deployment policies: a sixth of seed_all's time."""
    from core.seeding import SeedReport
    from deployments import seeds as deployment_seeds
    from environments import seeds as environment_seeds

    report = SeedReport()
    environment_seeds.seed(report)
    deployment_seeds.seed(report)
    return report


@pytest.fixture
def four_eyes(production):
    """Production as seeded (four-eyes on), without the checklist so an approval starts the engine at once."""
    DeploymentPolicy.objects.filter(environment=production).update(four_eyes=True, checklist_required=False)
    production.refresh_from_db()
    return production


@pytest.fixture
def v2(db):
    return Release.objects.create(version="v2.0", ref="v2.0", ref_kind="tag")


@pytest.fixture
def engineer(make_user):
    return make_user("erin", *ENGINEER)


@pytest.fixture
def manager(make_user):
    return make_user("rita", *RELEASE_MANAGER)


def _fresh(environment):
    return type(environment).objects.get(pk=environment.pk)


def _status(deployment):
    return Deployment.objects.get(pk=deployment.pk).status


# --- The service ---------------------------------------------------------------------------------------


def test_request__production__waits_for_approval_and_enqueues_nothing(
    four_eyes, v2, engineer, django_capture_on_commit_callbacks
):
    # When an engineer, who may not deploy production, requests a production deployment
    with django_capture_on_commit_callbacks() as callbacks:
        deployment = services.start_deployment(release=v2, environment=four_eyes, user=engineer)
    # Then it waits, with the event row naming them, and no engine tick is queued
    assert deployment.status == S.AWAITING_APPROVAL and deployment.started_at is None
    assert deployment.events.filter(new_status=S.AWAITING_APPROVAL, user=engineer).exists()
    assert callbacks == []


def test_approve__by_the_requester__refused_even_with_the_permission(four_eyes, v2, manager):
    deployment = services.start_deployment(release=v2, environment=four_eyes, user=manager)
    with pytest.raises(NotAllowed, match="You requested this deployment"):
        services.approve(deployment_id=deployment.pk, user=manager)
    assert _status(deployment) == S.AWAITING_APPROVAL
    assert not deployment.events.filter(old_status=S.AWAITING_APPROVAL).exists()


def test_approve__by_someone_without_the_permission__refused(four_eyes, v2, engineer, make_user):
    deployment = services.start_deployment(release=v2, environment=four_eyes, user=engineer)
    other_engineer = make_user("otto", *ENGINEER)
    with pytest.raises(NotAllowed, match="may not approve"):
        services.approve(deployment_id=deployment.pk, user=other_engineer)
    assert _status(deployment) == S.AWAITING_APPROVAL


def test_approve__by_a_second_person__the_deployment_starts(
    four_eyes, v2, engineer, manager, django_capture_on_commit_callbacks
):
    deployment = services.start_deployment(release=v2, environment=four_eyes, user=engineer)
    with django_capture_on_commit_callbacks() as callbacks:
        services.approve(deployment_id=deployment.pk, user=manager, note="release notes read")
    deployment.refresh_from_db()
    assert deployment.status == S.DEPLOYING and deployment.started_at is not None
    assert deployment.approved_by == manager and deployment.approved_at is not None
    event = deployment.events.get(old_status=S.AWAITING_APPROVAL)
    assert event.user == manager and event.detail == "Approved by rita: release notes read"
    assert len(callbacks) == 1  # the engine's first tick


def test_approve__with_the_checklist_required__goes_on_to_the_checklist(production, v2, engineer, manager):
    DeploymentPolicy.objects.filter(environment=production).update(four_eyes=True)
    deployment = services.start_deployment(release=v2, environment=production, user=engineer)
    services.approve(deployment_id=deployment.pk, user=manager)
    assert _status(deployment) == S.AWAITING_CHECKLIST


def test_approve__twice__second_refused_nothing_changed(four_eyes, v2, engineer, manager, make_user):
    deployment = services.start_deployment(release=v2, environment=four_eyes, user=engineer)
    services.approve(deployment_id=deployment.pk, user=manager)
    with pytest.raises(DeploymentRefused, match="not awaiting approval"):
        services.approve(deployment_id=deployment.pk, user=make_user("other", *RELEASE_MANAGER))
    assert Deployment.objects.get(pk=deployment.pk).approved_by == manager


def test_reject__by_a_second_person__aborted_with_the_note(four_eyes, v2, engineer, manager):
    deployment = services.start_deployment(release=v2, environment=four_eyes, user=engineer)
    services.reject(deployment_id=deployment.pk, user=manager, note="wrong tag")
    assert _status(deployment) == S.ABORTED
    assert deployment.events.get(new_status=S.ABORTED).detail == "Rejected by rita: wrong tag"


def test_abort__requester_withdraws_their_own_request_without_the_production_permission(four_eyes, v2, engineer):
    deployment = services.start_deployment(release=v2, environment=four_eyes, user=engineer)
    services.abort(deployment_id=deployment.pk, user=engineer)
    assert _status(deployment) == S.ABORTED


def test_request__without_the_operate_permission__refused_nothing_created(four_eyes, v2, make_user):
    with pytest.raises(NotAllowed, match="may not request"):
        services.start_deployment(
            release=v2, environment=four_eyes, user=make_user("viewer", "deployments.view_deployment")
        )
    assert not Deployment.objects.exists()


# --- The switch, for a team of one -------------------------------------------------------------------------


@pytest.fixture
def ops_admin(make_user):
    return make_user("olga", "deployments.view_deploymentpolicy", "deployments.change_deploymentpolicy")


def test_four_eyes_off__recorded_with_who_when_why__then_production_starts_directly(four_eyes, v2, ops_admin, manager):
    policy = four_eyes.deployment_policy
    services.set_four_eyes(policy_id=policy.pk, enabled=False, user=ops_admin, reason="team of one until March")

    policy.refresh_from_db()
    assert not policy.four_eyes and policy.four_eyes_changed_by == ops_admin and policy.four_eyes_changed_at
    record = policy.history.latest("history_date")
    assert record.history_user == ops_admin and record.four_eyes is False
    assert record.history_change_reason == "Four-eyes turned off: team of one until March"

    deployment = services.start_deployment(release=v2, environment=_fresh(four_eyes), user=manager)
    assert deployment.status == S.DEPLOYING


def test_four_eyes_off__production_still_needs_the_production_permission(four_eyes, v2, ops_admin, engineer):
    services.set_four_eyes(policy_id=four_eyes.deployment_policy.pk, enabled=False, user=ops_admin, reason="solo")
    with pytest.raises(NotAllowed, match="production deployments"):
        services.start_deployment(release=v2, environment=_fresh(four_eyes), user=engineer)
    assert not Deployment.objects.exists()


def test_four_eyes_switch__no_reason_or_no_permission__refused_nothing_changed(four_eyes, ops_admin, engineer):
    policy = four_eyes.deployment_policy
    with pytest.raises(DeploymentRefused, match="Give a reason"):
        services.set_four_eyes(policy_id=policy.pk, enabled=False, user=ops_admin, reason="  ")
    with pytest.raises(NotAllowed, match="may not change deployment policies"):
        services.set_four_eyes(policy_id=policy.pk, enabled=False, user=engineer, reason="solo")
    policy.refresh_from_db()
    assert policy.four_eyes and policy.four_eyes_changed_by is None


def test_four_eyes_page__switch_off__shown_on_the_policy_and_the_start_page(four_eyes, client, ops_admin, make_user):
    policy = four_eyes.deployment_policy
    client.force_login(ops_admin)
    url = reverse("admin:deployments_deploymentpolicy_four_eyes", args=[policy.pk])

    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 200 and DeploymentPolicy.objects.get(pk=policy.pk).four_eyes

    client.post(url, {"reason": "team <b>of</b> one"})
    page = client.get(reverse("admin:deployments_deploymentpolicy_change", args=[policy.pk])).content.decode()
    assert "Off since" in page and "by olga: team &lt;b&gt;of&lt;/b&gt; one" in page

    client.force_login(make_user("rita", *RELEASE_MANAGER))
    start = client.get(reverse("admin:deployments_deployment_start")).content.decode()
    assert 'data-four-eyes-off="production"' in start


def test_policy_change_form__cannot_flip_four_eyes_in_passing(four_eyes, admin_client):
    policy = four_eyes.deployment_policy
    page = admin_client.get(reverse("admin:deployments_deploymentpolicy_change", args=[policy.pk])).content.decode()
    assert 'name="four_eyes"' not in page and 'id="four-eyes-switch"' in page


# --- The admin ------------------------------------------------------------------------------------------------


def test_admin__requester_sees_no_approve_button__a_release_manager_does(four_eyes, v2, client, engineer, manager):
    deployment = services.start_deployment(release=v2, environment=four_eyes, user=manager)
    url = reverse("admin:deployments_deployment_change", args=[deployment.pk])

    client.force_login(manager)
    own = client.get(url).content.decode()
    assert 'id="approve-deployment"' not in own and 'id="own-request"' in own

    client.force_login(engineer)
    assert 'id="approve-deployment"' not in client.get(url).content.decode()  # no permission, no button


def test_admin__requester_posts_approve__refused_with_a_message(four_eyes, v2, client, manager):
    deployment = services.start_deployment(release=v2, environment=four_eyes, user=manager)
    client.force_login(manager)
    response = client.post(reverse("admin:deployments_deployment_act", args=[deployment.pk, "approve"]), follow=True)
    assert "another person must approve it" in response.content.decode()
    assert _status(deployment) == S.AWAITING_APPROVAL


def test_admin__second_person_approves__deployment_starts(four_eyes, v2, client, engineer, manager):
    deployment = services.start_deployment(release=v2, environment=four_eyes, user=engineer)
    client.force_login(manager)
    page = client.get(reverse("admin:deployments_deployment_change", args=[deployment.pk])).content.decode()
    assert 'id="approve-deployment"' in page
    client.post(reverse("admin:deployments_deployment_act", args=[deployment.pk, "approve"]), {"note": "ok"})
    assert _status(deployment) == S.DEPLOYING


def test_admin__approve_without_the_permission__403(four_eyes, v2, client, engineer, make_user):
    deployment = services.start_deployment(release=v2, environment=four_eyes, user=engineer)
    client.force_login(make_user("otto", *ENGINEER))
    response = client.post(reverse("admin:deployments_deployment_act", args=[deployment.pk, "approve"]))
    assert response.status_code == 403 and _status(deployment) == S.AWAITING_APPROVAL


def test_admin__start_view__says_it_awaits_approval(four_eyes, v2, client, engineer):
    client.force_login(engineer)
    response = client.post(
        reverse("admin:deployments_deployment_start"), {"release": "v2.0", "environment": four_eyes.pk}, follow=True
    )
    assert "awaits approval by a second person" in response.content.decode()
    assert Deployment.objects.get().status == S.AWAITING_APPROVAL


# --- The API and the git hook ---------------------------------------------------------------------------------


def _token_for(user, *environments):
    from tests.core.tokens import bearer, make_token

    return bearer(make_token(user, environments=environments, scopes=["deployments:write"]))


def test_api__start_in_production__202_awaiting_approval__its_user_cannot_approve(four_eyes, v2, client, manager):
    # Given a token acting as a release manager, who holds the approve permission
    headers = _token_for(manager, "production")
    # When CI starts a production deployment with it
    response = client.post(
        "/api/deployments/", {"release": "v2.0", "environment": "production"}, content_type="application/json",
        **headers,
    )  # fmt: skip
    # Then it is accepted, not started
    assert response.status_code == 202 and response.json()["status"] == "awaiting_approval"
    deployment = Deployment.objects.get(pk=response.json()["id"])
    # And the token's user is its requester, so cannot approve it
    with pytest.raises(NotAllowed, match="You requested this deployment"):
        services.approve(deployment_id=deployment.pk, user=manager)
    assert _status(deployment) == S.AWAITING_APPROVAL


def test_api__token_user_without_the_operate_permission__403_nothing_created(four_eyes, v2, client, make_user):
    headers = _token_for(make_user("viewer", "deployments.view_deployment"), "production")
    response = client.post(
        "/api/deployments/", {"release": "v2.0", "environment": "production"}, content_type="application/json",
        **headers,
    )  # fmt: skip
    assert response.status_code == 403 and "operate_deployment" in response.json()["error"]
    assert not Deployment.objects.exists()


def test_hook__auto_deploy_to_production__waits_for_approval_then_anyone_permitted_approves(
    four_eyes, client, monkeypatch, manager, django_capture_on_commit_callbacks
):
    # Given production deploys tags automatically (an operator's choice), with four-eyes on
    DeploymentPolicy.objects.filter(environment=four_eyes).update(auto_deploy=True)
    monkeypatch.setenv("OPS_GIT_WEBHOOK_SECRET", "s")
    body = json.dumps({"ref": "refs/tags/v3.0", "after": "0123456789ab"}).encode()
    signature = "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest()

    # When a tag is pushed
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/api/hooks/git/", body, content_type="application/json", headers={"X-Hub-Signature-256": signature}
        )

    # Then its deployment waits for a person, and the engine was not asked to start
    (pk,) = response.json()["awaiting_approval"]
    assert response.json()["deployments"] == [pk] and _status(Deployment(pk=pk)) == S.AWAITING_APPROVAL
    assert callbacks == []
    # And a person with the permission approves it (nobody requested it, so anyone permitted may)
    services.approve(deployment_id=pk, user=manager)
    assert _status(Deployment(pk=pk)) == S.DEPLOYING


def test_policy_admin__a_history_revert__keeps_the_switch_as_it_is(four_eyes, rf, ops_admin):
    # Given four-eyes on, and a row rebuilt from an older version where it was off (what a history revert saves)
    from django.contrib import admin

    rebuilt = DeploymentPolicy.objects.get(environment=four_eyes)
    rebuilt.four_eyes, rebuilt.ref_pattern = False, "v2*"
    request = rf.post("/")
    request.user = ops_admin
    # When the policy admin saves it
    admin.site._registry[DeploymentPolicy].save_model(request, rebuilt, form=None, change=True)
    # Then the other fields are saved, and four-eyes is not switched off in passing
    saved = DeploymentPolicy.objects.get(pk=rebuilt.pk)
    assert saved.ref_pattern == "v2*" and saved.four_eyes is True
