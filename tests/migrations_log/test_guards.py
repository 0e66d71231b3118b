"""§6 Tested: staging runs verified by a person; production blocked until they are; promotion rules."""

import pytest

from deployments import services as deployments
from deployments.exceptions import DeploymentRefused
from deployments.models import Deployment, Slot
from environments.models import Environment
from migrations_log.choices import DraftStatus
from migrations_log.exceptions import MigrationRefused
from migrations_log.executor import apply_pending
from migrations_log.models import LintFinding, Migration, MigrationRun
from migrations_log.services import (
    acknowledge,
    create_reverse_draft,
    register_release,
    report_tested_locally,
    start_refusal,
    verify_run,
)
from tests.migrations_log.helpers import BASE, release


def _env(key):
    return Environment.objects.get(key=key)


@pytest.fixture
def production_slots(seeded):
    live = release("v1.9", "tag")
    production = _env("production")
    Slot.objects.create(
        environment=production, color="blue", address="127.0.0.1:9001", server_name="blue", release=live, role="live"
    )
    Slot.objects.create(environment=production, color="green", address="127.0.0.1:9002", server_name="green")
    return production


def _registered_both():
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    register_release(version="v2.0", files=BASE)
    report_tested_locally(version="2.0")


def test_production__staging_run_unverified__refused_until_a_person_verifies(targets, production_slots, people):
    _registered_both()
    with pytest.raises(DeploymentRefused, match="Unverified on staging: 0001_add_gift_wrap, 0002_create_wishlists"):
        deployments.start_deployment(release=release("v2.0"), environment=production_slots)
    assert not Deployment.objects.exists()

    assert apply_pending(release=release("2.0"), environment=_env("staging")).ok
    with pytest.raises(DeploymentRefused, match="Unverified on staging"):
        deployments.start_deployment(release=release("v2.0"), environment=production_slots)

    for run in MigrationRun.objects.filter(environment__key="staging"):
        verify_run(run_id=run.pk, user=people["verifier"])
    deployment = deployments.start_deployment(release=release("v2.0"), environment=production_slots)

    # The checklist item "Database migrations tested" is evaluated, not ticked by hand.
    item = deployment.checklist.get(item__key="migrations_tested")
    assert item.checked and item.source == "engine"
    assert deployment.checklist.get(item__key="changelog_updated").checked is False


def test_verify_run__without_permission__refused_nothing_changed(targets, people):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    apply_pending(release=release("2.0"), environment=_env("staging"))
    run = MigrationRun.objects.first()
    with pytest.raises(MigrationRefused, match="permission to verify"):
        verify_run(run_id=run.pk, user=people["nobody"])
    run.refresh_from_db()
    assert run.verified_at is None


def test_verify_run__dev_run__refused(targets, people):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    apply_pending(release=release("2.0"), environment=_env("dev"))
    with pytest.raises(MigrationRefused, match="Only staging runs are verified"):
        verify_run(run_id=MigrationRun.objects.first().pk, user=people["verifier"])


def test_staging__lint_error__blocks_beyond_dev_not_dev(enabled_targets):
    register_release(
        version="2.0",
        files={"0001_required.sql": "-- estimate: 1s\nALTER TABLE orders ADD COLUMN channel text NOT NULL;\n"},
        ref="release/2.0",
        ref_kind="branch",
    )
    report_tested_locally(version="2.0")
    assert start_refusal(release=release("2.0"), environment=_env("dev")) == ""
    assert "Lint errors block promotion beyond dev: 0001_required.sql:2 adding-required-field" in start_refusal(
        release=release("2.0"), environment=_env("staging")
    )


def test_staging__estimate_missing_or_untested__refused_with_names(seeded):
    files = {"0001_a.sql": "ALTER TABLE orders ADD COLUMN a text;\n"}
    register_release(version="2.0", files=files, ref="release/2.0", ref_kind="branch")
    refusal = start_refusal(release=release("2.0"), environment=_env("staging"))
    assert "Estimated execution time is required before Staging: 0001_a." in refusal
    assert "Not reported tested locally by CI: 0001_a." in refusal


def test_acknowledge__warning_with_reason__recorded(seeded, people):
    register_release(version="2.0", files={"0001_i.sql": "CREATE INDEX i ON orders (total);\n"})
    finding = LintFinding.objects.get(rule="require-concurrent-index-creation")
    acknowledge(finding_id=finding.pk, user=people["verifier"], reason="orders is tiny on every environment")
    finding.refresh_from_db()
    assert finding.acknowledged_by == people["verifier"] and finding.acknowledgement_reason.startswith("orders is")


@pytest.mark.parametrize(
    ("who", "rule", "reason", "message"),
    [
        ("nobody", "require-concurrent-index-creation", "fine", "permission to acknowledge"),
        ("verifier", "require-concurrent-index-creation", "  ", "needs a reason"),
        ("verifier", "adding-required-field", "fine", "errors are fixed, not acknowledged"),
    ],
)
def test_acknowledge__refused__nothing_changed(seeded, people, who, rule, reason, message):
    sql = "CREATE INDEX i ON orders (total);\nALTER TABLE orders ADD COLUMN c text NOT NULL;\n"
    register_release(version="2.0", files={"0001_i.sql": sql})
    finding = LintFinding.objects.get(rule=rule)
    with pytest.raises(MigrationRefused, match=message):
        acknowledge(finding_id=finding.pk, user=people[who], reason=reason)
    assert LintFinding.objects.filter(acknowledged_at__isnull=False).count() == 0


def test_create_reverse_draft__recorded_as_draft_never_run(seeded):
    register_release(version="2.0", files=BASE)
    migration = Migration.objects.get(identifier="0001_add_gift_wrap")
    draft = create_reverse_draft(migration_id=migration.pk)
    assert draft.identifier == "0003_reverse_add_gift_wrap" and draft.status == DraftStatus.DRAFT
    assert "--   ALTER TABLE orders ADD COLUMN gift_wrap boolean;" in draft.sql
    assert create_reverse_draft(migration_id=migration.pk) == draft  # one open draft per migration
    assert not MigrationRun.objects.exists()


def test_run__more_than_twice_the_estimate__flagged_slow(seeded):
    from django.utils import timezone

    register_release(version="2.0", files=BASE)
    migration = Migration.objects.get(identifier="0001_add_gift_wrap")
    fast, slow = (
        MigrationRun(migration=migration, environment=_env("staging"), started_at=timezone.now(), duration_seconds=d)
        for d in (1.9, 2.1)
    )
    assert (fast.slow, slow.slow) == (False, True)


def test_checklist__release_without_registered_migrations__not_ticked(production_slots):
    deployment = deployments.start_deployment(release=release("v3.0", "tag"), environment=production_slots)
    assert deployment.checklist.get(item__key="migrations_tested").checked is False


def test_target_not_enabled__pending_migrations__refused_not_skipped(seeded):
    # Seeded targets are disabled until an operator gives the worker the database URL variable.
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    assert "2 migration(s) pending, but Dev's migration target is not enabled" in start_refusal(
        release=release("2.0"), environment=_env("dev")
    )
    assert start_refusal(release=release("v9.9", "tag"), environment=_env("dev")) == ""  # nothing registered
