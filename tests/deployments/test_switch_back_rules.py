"""Switch back and the bake period, in process: the refusal rules, the status label, and every door's refusals."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from deployments import services
from deployments.choices import DeploymentStatus as S
from deployments.choices import SlotRole
from deployments.engine.switchback import Standing, refusal_rule, status_label
from deployments.engine.traffic import bake_end
from deployments.exceptions import DeploymentRefused, NotAllowed
from deployments.models import Deployment, DeploymentEvent, Release, Slot
from tests.core.tokens import bearer, make_token, service_account

OK = Standing(
    pk=7, status=S.SUCCEEDED, release="v2.0", blue_green=True, standby_color="blue", standby_role=SlotRole.STANDBY,
    standby_release="v1.9",
)  # fmt: skip


def _with(**changes):
    return Standing(**{**OK.__dict__, **changes})


def test_refusal_rule__latest_succeeded_with_its_standby__allowed():
    assert refusal_rule(OK) == ""


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"status": S.ROLLED_BACK}, "is rolled back: only a succeeded deployment"),
        ({"status": S.SHIFTING_TRAFFIC}, "is shifting traffic: only a succeeded deployment"),
        ({"blue_green": False}, "was direct: there is no standby slot"),
        ({"later_succeeded": 9}, "Deployment #9 succeeded after #7"),
        ({"in_flight": 8}, "Deployment #8 is in flight"),
        ({"standby_role": SlotRole.IDLE, "standby_release": "v2.1"}, "blue no longer holds the previous release"),
        ({"standby_role": SlotRole.FAILED}, "it is failed (drained, kept for investigation) and holds v1.9"),
        ({"standby_release": ""}, "holds no release"),
        ({"standby_release": "v2.0"}, "no longer holds the previous release"),
    ],
)
def test_refusal_rule__refused_in_plain_words(changes, words):
    assert words in refusal_rule(_with(**changes))


def test_status_label__watching_with_minutes_left__then_succeeded():
    now = timezone.now()
    deployment = Deployment(status=S.SUCCEEDED, watching_until=now + timedelta(minutes=14, seconds=40))
    assert status_label(deployment, now) == "Succeeded, watching (15 min left)"
    assert status_label(deployment, now + timedelta(minutes=15)) == "Succeeded"
    assert status_label(Deployment(status=S.SUCCEEDED), now) == "Succeeded"
    assert status_label(Deployment(status=S.ROLLED_BACK, watching_until=now + timedelta(minutes=5)), now) == (
        "Rolled back"
    )


def test_bake_end__policy_minutes__none_at_zero():
    now = timezone.now()

    class Policy:
        bake_minutes = 60

    assert bake_end(Policy, now) == now + timedelta(minutes=60)
    Policy.bake_minutes = 0
    assert bake_end(Policy, now) is None


# --- The doors, on the module's seeding: production with blue on standby v1.9 and green live v2.0 ---------------


@pytest.fixture
def succeeded(production_once):
    blue = Slot.objects.get(environment=production_once, color="blue")
    green = Slot.objects.get(environment=production_once, color="green")
    v2 = Release.objects.create(version="v2.0", ref="v2.0", ref_kind="tag")
    Slot.objects.filter(pk=blue.pk).update(role=SlotRole.STANDBY)
    Slot.objects.filter(pk=green.pk).update(role=SlotRole.LIVE, release=v2)
    return Deployment.objects.create(
        release=v2, environment=production_once, strategy="blue_green", from_slot=blue, to_slot=green,
        status=S.SUCCEEDED, traffic_weight=100, watching_until=timezone.now() + timedelta(minutes=30),
    )  # fmt: skip


def _nothing_moved(deployment, events_before):
    deployment.refresh_from_db()
    assert deployment.status == S.SUCCEEDED
    assert deployment.events.count() == events_before
    roles = dict(Slot.objects.filter(environment=deployment.environment).values_list("color", "role"))
    assert roles == {"blue": "standby", "green": "live"}


def test_service__no_reason__refused(succeeded, make_user, django_capture_on_commit_callbacks):
    person = make_user("oncall", "deployments.operate_deployment", "deployments.deploy_production")
    with django_capture_on_commit_callbacks() as queued, pytest.raises(DeploymentRefused, match="Give a reason"):
        services.switch_back(deployment_id=succeeded.pk, user=person, reason="   ")
    assert not queued
    _nothing_moved(succeeded, 0)


def test_service__production_without_production_permission__not_allowed(succeeded, make_user):
    person = make_user("staging-only", "deployments.operate_deployment")
    with pytest.raises(NotAllowed, match="production deployments"):
        services.switch_back(deployment_id=succeeded.pk, user=person, reason="checkout errors")
    assert "production deployments" in services.switch_back_refusal(succeeded, person)
    _nothing_moved(succeeded, 0)


def test_service__allowed__reason_in_timeline_and_one_task_queued(
    succeeded, make_user, django_capture_on_commit_callbacks
):
    person = make_user("oncall", "deployments.operate_deployment", "deployments.deploy_production")
    assert services.switch_back_refusal(succeeded, person) == ""
    with django_capture_on_commit_callbacks() as queued:
        services.switch_back(deployment_id=succeeded.pk, user=person, reason="checkout errors from support")
    assert len(queued) == 1
    event = succeeded.events.get()
    assert (event.user, event.detail) == (person, "Switch back requested: checkout errors from support")


def test_service__later_deployment_took_the_standby__refused_and_nothing_moves(succeeded, make_user):
    person = make_user("oncall", "deployments.operate_deployment", "deployments.deploy_production")
    v21 = Release.objects.create(version="v2.1", ref="v2.1", ref_kind="tag")
    Deployment.objects.create(
        release=v21, environment=succeeded.environment, strategy="blue_green", from_slot=succeeded.to_slot,
        to_slot=succeeded.from_slot, status=S.FAILED,
    )  # fmt: skip
    Slot.objects.filter(pk=succeeded.from_slot_id).update(role=SlotRole.IDLE, release=v21)
    with pytest.raises(DeploymentRefused, match="blue no longer holds the previous release .*holds v2.1"):
        services.switch_back(deployment_id=succeeded.pk, user=person, reason="checkout errors")
    succeeded.refresh_from_db()
    assert succeeded.status == S.SUCCEEDED and not succeeded.events.exists()


def test_abort_before_deploy__standby_keeps_its_role(succeeded):
    v21 = Release.objects.create(version="v2.1", ref="v2.1", ref_kind="tag")
    later = Deployment.objects.create(
        release=v21, environment=succeeded.environment, strategy="blue_green", from_slot=succeeded.to_slot,
        to_slot=succeeded.from_slot, status=S.AWAITING_CHECKLIST,
    )  # fmt: skip
    assert "is in flight" in services.switch_back_refusal(succeeded, None)
    services.abort(deployment_id=later.pk, user=None)
    assert Slot.objects.get(pk=succeeded.from_slot_id).role == SlotRole.STANDBY
    assert services.switch_back_refusal(succeeded, None) == ""


def test_api__refusal_409__allowed_202_with_the_document(succeeded, client):
    ci = service_account("ci-switch", "deployments.operate_deployment", "deployments.deploy_production")
    headers = bearer(make_token(ci, environments=["production"], scopes=["deployments:write"]))
    url = f"/api/deployments/{succeeded.pk}/switch-back/"

    missing = client.post(url, {}, content_type="application/json", **headers)
    assert missing.status_code == 400
    Slot.objects.filter(pk=succeeded.from_slot_id).update(role=SlotRole.IDLE)
    refused = client.post(url, {"reason": "errors"}, content_type="application/json", **headers)
    assert refused.status_code == 409 and "no longer holds the previous release" in refused.json()["error"]
    Slot.objects.filter(pk=succeeded.from_slot_id).update(role=SlotRole.STANDBY)
    accepted = client.post(url, {"reason": "errors"}, content_type="application/json", **headers)
    assert accepted.status_code == 202
    assert accepted.json()["status"] == "succeeded" and accepted.json()["status_label"].startswith("Succeeded, watch")
    assert DeploymentEvent.objects.filter(deployment=succeeded, actor="ci", user=ci).count() == 1


def test_api__read_only_token__403(succeeded, client):
    ci = service_account("ci-read", "deployments.operate_deployment", "deployments.deploy_production")
    headers = bearer(make_token(ci, environments=["production"], scopes=["flags:read"]))
    response = client.post(
        f"/api/deployments/{succeeded.pk}/switch-back/", {"reason": "x"}, content_type="application/json", **headers
    )
    assert response.status_code == 403 and not succeeded.events.exists()


def test_command__refused_in_plain_words__nothing_changes(succeeded):
    Slot.objects.filter(pk=succeeded.from_slot_id).update(role=SlotRole.IDLE)
    with pytest.raises(CommandError, match="Refused: .*no longer holds the previous release.*Nothing was changed"):
        call_command("switch_back", str(succeeded.pk), "--reason", "errors", stdout=StringIO())
    with pytest.raises(CommandError, match="No deployment #999999"):
        call_command("switch_back", "999999", "--reason", "errors", stdout=StringIO())
    assert not succeeded.events.exists()


def test_admin__button_only_when_allowed__shared_confirmation_says_what_moves_and_needs_a_reason(
    succeeded, client, make_user
):
    person = make_user("oncall", "deployments.view_deployment", "deployments.operate_deployment",
                       "deployments.deploy_production")  # fmt: skip
    client.force_login(person)
    page = client.get(f"/admin/deployments/deployment/{succeeded.pk}/change/").content.decode()
    assert 'id="switch-back-button"' in page and "Succeeded, watching (30 min left)" in page

    # The confirmation is core.confirm's page, with what moves: from the new slot and release to the old
    confirm = f"/admin/deployments/deployment/{succeeded.pk}/switch-back/"
    asked = client.get(confirm).content.decode()
    new, old = succeeded.to_slot, succeeded.from_slot
    assert 'id="confirm-reason"' in asked and 'id="confirm-submit"' in asked
    assert f"{new.color} · {succeeded.release}" in asked and f"{old.color} · {old.release}" in asked
    blank = client.post(confirm, {"confirm_reason": "  "})
    assert blank.status_code == 400 and "Give a reason" in blank.content.decode()
    assert not succeeded.events.exists()

    # Refused: the page says why, and offers no button; a POST with a reason changes nothing either
    Slot.objects.filter(pk=succeeded.from_slot_id).update(role=SlotRole.IDLE)
    page = client.get(f"/admin/deployments/deployment/{succeeded.pk}/change/").content.decode()
    assert 'id="switch-back-button"' not in page
    refused = client.get(confirm).content.decode()
    assert "no longer holds the previous release" in refused and 'id="confirm-refusal"' in refused
    assert 'id="confirm-submit"' not in refused
    forced = client.post(confirm, {"confirm_reason": "checkout errors"})
    assert forced.status_code == 409 and "no longer holds the previous release" in forced.content.decode()
    assert not succeeded.events.exists()


def test_admin__switch_back_with_a_reason__queued_with_it(succeeded, client, make_user):
    person = make_user("oncall", "deployments.view_deployment", "deployments.operate_deployment",
                       "deployments.deploy_production")  # fmt: skip
    client.force_login(person)
    done = client.post(f"/admin/deployments/deployment/{succeeded.pk}/switch-back/",
                       {"confirm_reason": "checkout errors from support"})  # fmt: skip
    assert done.status_code == 302 and done.url == f"/admin/deployments/deployment/{succeeded.pk}/change/"
    assert succeeded.events.filter(detail="Switch back requested: checkout errors from support", user=person).exists()


def test_admin__list_shows_watching(succeeded, client, make_user):
    client.force_login(make_user("reader", "deployments.view_deployment"))
    listing = client.get("/admin/deployments/deployment/").content.decode()
    assert "Succeeded, watching (30 min left)" in listing
    Deployment.objects.filter(pk=succeeded.pk).update(watching_until=timezone.now() - timedelta(seconds=1))
    listing = client.get("/admin/deployments/deployment/").content.decode()
    assert "watching" not in listing and ">Succeeded<" in listing


def test_drift_alert__raised_once_in_the_bake__resolves_when_weights_match_again(succeeded):
    from deployments.engine.switchback import _note_drift
    from monitoring.public import active_alerts

    found = ["green at 70 (the engine set 100)", "blue at 30 (the engine set 0)"]
    _note_drift(succeeded, found, True)
    _note_drift(succeeded, found, True)
    labels = {"deployment": str(succeeded.pk)}
    assert [a.name for a in active_alerts(labels=labels)] == ["DeploymentWeightDrift"]
    assert succeeded.events.filter(kind="alert").count() == 1

    _note_drift(succeeded, [], True)
    assert not list(active_alerts(labels=labels))


def test_reconcile__watch_gone_quiet__resumed_with_a_new_run__ended_bake_left_alone(
    succeeded, django_capture_on_commit_callbacks
):
    from deployments.engine.reconcile import reconcile

    quiet = timezone.now() - timedelta(minutes=5)
    Deployment.objects.filter(pk=succeeded.pk).update(heartbeat_at=quiet)
    token = succeeded.run_token
    with django_capture_on_commit_callbacks() as queued:
        assert reconcile() == [f"#{succeeded.pk} watched again"]
    succeeded.refresh_from_db()
    assert len(queued) == 1 and succeeded.run_token != token
    assert succeeded.events.filter(detail="Reconcile: resumed the bake period's watch").count() == 1

    Deployment.objects.filter(pk=succeeded.pk).update(heartbeat_at=quiet, watching_until=quiet)
    with django_capture_on_commit_callbacks() as queued:
        assert reconcile() == []
    assert not queued
