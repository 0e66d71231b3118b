"""Rules of §4 enforced by the services: source rules, one deployment at a time, the checklist."""

import pytest
from django.db import IntegrityError

from core.status import InvalidTransition as StatusRefused
from core.status import change_status
from deployments import services
from deployments.choices import TRANSITIONS, Actor
from deployments.choices import DeploymentStatus as S
from deployments.exceptions import DeploymentRefused, InvalidTransition
from deployments.models import Deployment, DeploymentEvent, Release

pytestmark = pytest.mark.django_db


@pytest.fixture
def tag_release(db):
    return Release.objects.create(version="v2.0", ref="v2.0", ref_kind="tag")


@pytest.fixture
def person(make_user):
    return make_user(
        "alice", "deployments.operate_deployment", "deployments.deploy_production", "deployments.check_checklist"
    )


def test_policy__production_from_a_branch__refused_with_the_rule(production):
    release = Release.objects.create(version="rc", ref="release/2.0", ref_kind="branch")
    with pytest.raises(DeploymentRefused, match="Production deploys from tag v\\*; release rc is branch release/2.0"):
        services.start_deployment(release=release, environment=production)
    assert not Deployment.objects.exists()


def test_policy__staging_accepts_release_branches_only(seeded, env):
    policy = env("staging").deployment_policy
    assert policy.refusal_for(Release(version="a", ref="release/2.0", ref_kind="branch")) == ""
    assert policy.refusal_for(Release(version="b", ref="main", ref_kind="branch"))
    assert policy.refusal_for(Release(version="c", ref="v2.0", ref_kind="tag"))


def test_start__production__waits_for_the_pre_deployment_checklist(production, tag_release, person):
    deployment = services.start_deployment(release=tag_release, environment=production, user=person)
    assert deployment.status == S.AWAITING_CHECKLIST
    assert deployment.from_slot.color == "blue" and deployment.to_slot.color == "green"
    assert deployment.steps.count() == 6


def test_checklist__ci_items_by_ci_the_rest_by_a_person__then_the_engine_starts(
    production, tag_release, person, django_capture_on_commit_callbacks
):
    deployment = services.start_deployment(release=tag_release, environment=production, user=person)
    services.check_item(deployment_id=deployment.pk, item_key="all_tests_passing", actor=Actor.CI)
    services.check_item(deployment_id=deployment.pk, item_key="code_review_approved", actor=Actor.CI)
    with pytest.raises(DeploymentRefused, match="must be checked by a person"):
        services.check_item(deployment_id=deployment.pk, item_key="changelog_updated", actor=Actor.CI)
    with pytest.raises(DeploymentRefused, match="ticked by the engine"):
        services.check_item(deployment_id=deployment.pk, item_key="run_smoke_tests", user=person)

    keys = ["changelog_updated", "migrations_tested", "flags_configured", "secrets_present"]
    for key in keys:
        services.check_item(deployment_id=deployment.pk, item_key=key, user=person)
    deployment.refresh_from_db()
    assert deployment.status == S.AWAITING_CHECKLIST
    with django_capture_on_commit_callbacks() as callbacks:
        services.check_item(deployment_id=deployment.pk, item_key="rollback_plan_documented", user=person)

    deployment.refresh_from_db()
    assert deployment.status == S.DEPLOYING and len(callbacks) == 1
    entry = deployment.checklist.get(item__key="rollback_plan_documented")
    assert entry.checked_by == person and entry.checked_at is not None
    assert deployment.checklist.get(item__key="all_tests_passing").source == Actor.CI


def test_start__second_active_deployment__refused_naming_the_first(production, tag_release, person):
    first = services.start_deployment(release=tag_release, environment=production, user=person)
    other = Release.objects.create(version="v2.1", ref="v2.1", ref_kind="tag")
    with pytest.raises(DeploymentRefused, match=f"already has a deployment in flight: #{first.pk}"):
        services.start_deployment(release=other, environment=production, user=person)
    assert Deployment.objects.count() == 1


def test_one_active_per_environment__enforced_by_the_database(production, tag_release):
    Deployment.objects.create(release=tag_release, environment=production, strategy="blue_green", status=S.PAUSED)
    with pytest.raises(IntegrityError):
        Deployment.objects.create(release=tag_release, environment=production, strategy="blue_green")


def test_transition__not_allowed__refused_and_nothing_recorded(production, tag_release, person):
    deployment = services.start_deployment(release=tag_release, environment=production, user=person)
    events = DeploymentEvent.objects.count()
    with pytest.raises(InvalidTransition, match="cannot go to succeeded"):
        change_status(deployment, S.SUCCEEDED)
    assert DeploymentEvent.objects.count() == events
    assert S.SUCCEEDED not in TRANSITIONS[S.AWAITING_CHECKLIST]


def test_transition__already_there__no_op(production, tag_release, person):
    deployment = services.start_deployment(release=tag_release, environment=production, user=person)
    events = deployment.events.count()
    assert change_status(deployment, S.AWAITING_CHECKLIST).changed is False
    assert deployment.events.count() == events


def test_change_status__outside_the_map__refused_clearly_and_nothing_changes(production, tag_release, person):
    deployment = services.start_deployment(release=tag_release, environment=production, user=person)
    events = deployment.events.count()

    with pytest.raises(InvalidTransition) as refused:
        change_status(deployment, S.ROLLED_BACK, actor=Actor.PERSON, user=person, reason="skip ahead")

    assert str(refused.value) == f"Deployment #{deployment.pk} is awaiting checklist; it cannot go to rolled back."
    assert isinstance(refused.value, StatusRefused) and isinstance(refused.value, DeploymentRefused)
    deployment.refresh_from_db()
    assert (deployment.status, deployment.finished_at) == (S.AWAITING_CHECKLIST, None)
    assert deployment.events.count() == events


def test_change_status__to_its_current_status__no_op_without_an_event(production, tag_release, person):
    deployment = services.start_deployment(release=tag_release, environment=production, user=person)
    events = deployment.events.count()

    change = change_status(deployment, S.AWAITING_CHECKLIST, actor=Actor.PERSON, user=person)

    assert not change.changed and (change.old, change.new) == (S.AWAITING_CHECKLIST, S.AWAITING_CHECKLIST)
    assert deployment.events.count() == events


def test_change_status__allowed__one_event_and_its_own_timestamps(production, tag_release, person):
    deployment = services.start_deployment(release=tag_release, environment=production, user=person)

    change_status(deployment, S.ABORTED, actor=Actor.PERSON, user=person, reason="not today")

    deployment.refresh_from_db()
    assert deployment.status == S.ABORTED and deployment.finished_at is not None
    event = deployment.events.get(kind="transition", new_status=S.ABORTED)
    assert (event.old_status, event.actor, event.user, event.detail) == (
        S.AWAITING_CHECKLIST, Actor.PERSON, person, "not today"
    )  # fmt: skip


def test_abort__with_traffic_on_the_new_slot__refused(production, tag_release, person):
    deployment = services.start_deployment(release=tag_release, environment=production, user=person)
    Deployment.objects.filter(pk=deployment.pk).update(status=S.SHIFTING_TRAFFIC, traffic_weight=10)
    with pytest.raises(DeploymentRefused, match="roll it back instead"):
        services.abort(deployment_id=deployment.pk, user=person)
    assert Deployment.objects.get(pk=deployment.pk).status == S.SHIFTING_TRAFFIC


def test_roll_back_now__before_traffic__refused(production, tag_release, person):
    deployment = services.start_deployment(release=tag_release, environment=production, user=person)
    with pytest.raises(DeploymentRefused, match="no traffic to roll back"):
        services.roll_back_now(deployment_id=deployment.pk, user=person)


def test_roll_back_now__records_the_persons_decision(production, tag_release, person):
    deployment = services.start_deployment(release=tag_release, environment=production, user=person)
    Deployment.objects.filter(pk=deployment.pk).update(status=S.PAUSED, traffic_weight=50)
    services.roll_back_now(deployment_id=deployment.pk, user=person, reason="checkout errors")
    deployment.refresh_from_db()
    assert deployment.status == S.ROLLING_BACK and not deployment.rollback_automatic
    assert deployment.decided_at is not None and deployment.rollback_reason == "checkout errors"
    assert deployment.events.filter(user=person, new_status=S.ROLLING_BACK).exists()


def test_timeline_event__cannot_be_edited(production, tag_release, person):
    deployment = services.start_deployment(release=tag_release, environment=production, user=person)
    event = deployment.events.first()
    event.detail = "rewritten"
    with pytest.raises(Exception, match="never edited"):
        event.save()


def test_create_release__bad_commit__refused_with_field_message(db):
    with pytest.raises(DeploymentRefused, match="commit"):
        services.create_release(version="v3", ref="v3", ref_kind="tag", commit="not-a-sha")
    assert not Release.objects.exists()


def test_blue_green__without_slots__refused(seeded, tag_release, env):
    with pytest.raises(DeploymentRefused, match="needs a blue and a green slot"):
        services.start_deployment(release=tag_release, environment=env("production"))
