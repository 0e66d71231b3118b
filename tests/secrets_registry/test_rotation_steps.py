"""The rotation steps in this process (no worker): value handling and refusals.
moto's server stands in for AWS Secrets Manager (a paid cloud service)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from secrets_registry import rotation, services
from secrets_registry.choices import RotationKind, RotationTarget, RunStatus
from secrets_registry.exceptions import RotationRefused
from secrets_registry.models import RotationRun, SecretReference
from tests.secrets_registry.conftest import DR_REGION


def test_with_password__replaces_only_the_password():
    url = "postgres://amarise_app:old@db.internal:5432/shop?sslmode=require"
    new = rotation.with_password(url, "amarise_app", "n3w_pw-x")
    assert new == "postgres://amarise_app:n3w_pw-x@db.internal:5432/shop?sslmode=require"
    assert rotation.password_of(new, "amarise_app") == "n3w_pw-x"


def test_with_password__url_of_another_role_or_not_a_url__refused_without_quoting_it():
    with pytest.raises(rotation.StepFailed) as refused:
        rotation.with_password("postgres://someone:s3cr3t@db/shop", "amarise_app", "x")
    assert "s3cr3t" not in str(refused.value)
    with pytest.raises(rotation.StepFailed, match="not a postgres:// URL"):
        rotation.with_password("sk_live_s3cr3t", "amarise_app", "x")


def test_scrub__removes_urls_and_their_passwords():
    text = 'failed for postgres://u:p%40ss@h/db: password "p@ss" rejected'
    assert rotation._scrub(text, "postgres://u:p%40ss@h/db") == 'failed for ***: password "***" rejected'


@pytest.fixture
def staging_reference(secrets_seeded, manager, env):
    return SecretReference.objects.create(
        environment=env("staging"), variable="DATABASE_URL", name="amarise/staging/DATABASE_URL", owner="platform",
        rotation_kind=RotationKind.AUTOMATIC, rotation_target=RotationTarget.POSTGRES_ROLE,
        target_environment=env("staging"), target_role="amarise_app", admin_url_variable="OPS_SECRETS_NO_SUCH_URL",
    )  # fmt: skip


def test_create_step__current_value_not_a_database_url__run_failed__no_pending_version(staging_reference, manager):
    manager.create(staging_reference.name, value="sk_live_not_a_url", replica_regions=(DR_REGION,))
    run = services.request_rotation(reference_id=staging_reference.pk, via="test")

    services.advance_rotation(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.reason == "1. Create AWSPENDING: the secret's value is not a postgres:// URL"
    assert "sk_live" not in run.reason
    assert manager.describe(staging_reference.name).pending_version_id is None


def test_create_step__secret_missing__run_failed_naming_it(staging_reference):
    run = services.request_rotation(reference_id=staging_reference.pk, via="test")
    services.advance_rotation(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "amarise/staging/DATABASE_URL not found" in run.reason


def test_rotate_due__only_overdue_automatic_secrets__production_awaits_approval(staging_reference):
    SecretReference.objects.filter(rotation_kind=RotationKind.AUTOMATIC).update(
        last_rotated_at=timezone.now() - timedelta(days=91)
    )
    SecretReference.objects.filter(name="amarise/production/STRIPE_SECRET_KEY").update(
        last_rotated_at=timezone.now() - timedelta(days=200)
    )

    runs = services.rotate_due()

    assert {(r.reference.name, r.status) for r in runs} == {
        ("amarise/production/DATABASE_URL", RunStatus.AWAITING_APPROVAL),
        ("amarise/staging/DATABASE_URL", RunStatus.QUEUED),
    }
    assert services.rotate_due() == []  # each already has an active run


def test_resume_stalled__only_runs_without_recent_progress(staging_reference):
    run = services.request_rotation(reference_id=staging_reference.pk, via="test")
    assert services.resume_stalled_rotations(stale_after=300) == []
    RotationRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert services.resume_stalled_rotations(stale_after=300) == [run.pk]


def test_approve__run_not_awaiting_approval__refused(staging_reference, make_user):
    run = services.request_rotation(reference_id=staging_reference.pk, via="test")
    approver = make_user("bob", "secrets_registry.approve_production_rotation")
    with pytest.raises(RotationRefused, match="nothing to approve"):
        services.approve_rotation(run_id=run.pk, user=approver)
    run.refresh_from_db()
    assert run.approved_by is None


def test_request__automatic_without_a_complete_target__refused_naming_the_field(staging_reference):
    SecretReference.objects.filter(pk=staging_reference.pk).update(target_role="")
    with pytest.raises(RotationRefused, match="target_role: Needed to rotate"):
        services.request_rotation(reference_id=staging_reference.pk, via="test")
    assert not RotationRun.objects.exists()
