"""Gates that fail closed: seeded smoke checks, no production start without one, and the pre-deployment
items the console judges itself ("Changelog updated", "Feature flags configured")."""

import pytest

from deployments import services
from deployments.choices import Actor
from deployments.exceptions import DeploymentRefused
from deployments.models import Deployment, DeploymentPolicy, Release


def _tag(version, changelog=""):
    return Release.objects.create(version=version, ref=version, ref_kind="tag", changelog=changelog)


def _item(deployment, key):
    return deployment.checklist.get(item__key=key)


def test_seed__every_policy__home_page_and_health_path_smoke_checks(seeded_module, db):
    for policy in DeploymentPolicy.objects.select_related("environment"):
        checks = {(c.path, c.expected_status) for c in policy.smoke_checks.all()}
        assert checks == {("/", 200), (policy.health_path, 200)}, policy.environment.key


def test_start__production_policy_without_smoke_check__refused_and_nothing_created(production_once):
    # Given production's policy with its smoke checks removed
    production_once.deployment_policy.smoke_checks.all().delete()

    # When a deployment is started, Then it is refused with the reason, and nothing is created
    with pytest.raises(DeploymentRefused, match="has no smoke check, so the idle slot would take traffic unchecked"):
        services.start_deployment(release=_tag("v2.0"), environment=production_once)
    assert not Deployment.objects.exists()


def test_start__production_with_its_seeded_smoke_checks__starts(production_once):
    deployment = services.start_deployment(release=_tag("v2.0"), environment=production_once)

    assert deployment.pk and deployment.status == "awaiting_checklist"


def test_changelog_updated__release_with_a_changelog__checked_by_the_console(production_once):
    deployment = services.start_deployment(
        release=_tag("v2.0", changelog="- Faster checkout"), environment=production_once
    )

    item = _item(deployment, "changelog_updated")
    assert item.checked_at is not None and item.source == Actor.ENGINE


def test_changelog_updated__empty_changelog__left_for_a_person(production_once):
    deployment = services.start_deployment(release=_tag("v2.0", changelog="  \n"), environment=production_once)

    assert _item(deployment, "changelog_updated").checked_at is None


def test_flags_configured__staging_and_production_as_the_table_plans__checked(production_once):
    # (the seeded flags differ between staging and production only where the table says so: guestCheckout...)
    deployment = services.start_deployment(release=_tag("v2.0"), environment=production_once)

    item = _item(deployment, "flags_configured")
    assert item.checked_at is not None and item.source == Actor.ENGINE


def test_flags_configured__staging_differs_from_production_off_the_table__left_for_a_person(production_once):
    from flags.checklist import unplanned_drift
    from flags.models import FlagState

    # Given wishlist, on in both by the table, switched off in staging only
    FlagState.objects.filter(flag__key="wishlist", environment__key="staging").update(enabled=False)

    deployment = services.start_deployment(release=_tag("v2.0"), environment=production_once)

    assert _item(deployment, "flags_configured").checked_at is None
    assert unplanned_drift() == ["wishlist: staging off, production on"]
