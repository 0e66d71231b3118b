import pytest
from django.db import DatabaseError, IntegrityError, transaction

from secrets_registry.choices import AccountKind, ActorKind, AuditAction, RotationKind, RotationTarget
from secrets_registry.models import AccessAudit, SecretReference, ServiceAccount
from secrets_registry.services import record_access

PRODUCTION_VARIABLES = {"DATABASE_URL", "API_URL", "SITE_URL", "STRIPE_SECRET_KEY", "EMAIL_API_KEY", "STORAGE_BUCKET",
                        "ANALYTICS_ID"}  # fmt: skip


def test_seed__every_production_variable_of_section_7__has_a_reference_under_amarise_production(secrets_seeded):
    references = SecretReference.objects.filter(environment__key="production")
    assert {r.variable for r in references} == PRODUCTION_VARIABLES
    assert {r.name for r in references} == {f"amarise/production/{v}" for v in PRODUCTION_VARIABLES}
    assert all(r.region == "eu-west-1" and r.owner for r in references)
    assert all(r.allowed_readers.filter(kind=AccountKind.SERVICE).exists() for r in references)
    assert not ServiceAccount.objects.filter(kind=AccountKind.PERSON, secrets__isnull=False).exists()


def test_seed__rotation_kinds__database_automatic_third_party_keys_manual(secrets_seeded):
    kinds = dict(SecretReference.objects.filter(environment__key="production").values_list("variable", "rotation_kind"))
    assert kinds["DATABASE_URL"] == RotationKind.AUTOMATIC
    assert kinds["STRIPE_SECRET_KEY"] == kinds["EMAIL_API_KEY"] == RotationKind.MANUAL
    database = SecretReference.objects.get(name="amarise/production/DATABASE_URL")
    assert database.rotation_target == RotationTarget.POSTGRES_ROLE
    assert (database.target_environment.key, database.target_role) == ("production", "amarise_app")
    assert database.rotation_period_days == 90
    database.full_clean()  # a complete automatic target


def test_reseed__operator_edit_of_rotation_period__kept(secrets_seeded):
    from tests.secrets_registry.conftest import _seed

    SecretReference.objects.filter(name="amarise/production/STRIPE_SECRET_KEY").update(rotation_period_days=30)
    report = _seed()
    assert SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY").rotation_period_days == 30
    assert not report.created


def test_next_due__last_rotation_plus_period__configuration_values_never_due(secrets_seeded):
    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    assert (stripe.next_due - stripe.created_at).days == 90
    assert SecretReference.objects.get(name="amarise/production/SITE_URL").next_due is None


def test_automatic_rotation__without_target__refused_by_clean(secrets_seeded):
    from django.core.exceptions import ValidationError

    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    stripe.rotation_kind = RotationKind.AUTOMATIC
    with pytest.raises(ValidationError, match="needs a target"):
        stripe.full_clean()


def test_access_audit__update_or_delete__refused_by_the_database(secrets_seeded):
    reference = SecretReference.objects.get(name="amarise/production/DATABASE_URL")
    row = record_access(reference=reference, action=AuditAction.READ, actor_kind=ActorKind.TASK, actor="test",
                        version_id="v1", detail="why")  # fmt: skip
    with pytest.raises(ValueError, match="append-only"):
        row.save()
    with pytest.raises(ValueError, match="append-only"):
        row.delete()
    for statement in (lambda: AccessAudit.objects.filter(pk=row.pk).update(detail="rewritten"),
                      lambda: AccessAudit.objects.filter(pk=row.pk).delete()):  # fmt: skip
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            statement()
    assert AccessAudit.objects.get(pk=row.pk).detail == "why"


def test_one_reference_per_environment_and_variable(secrets_seeded, env):
    with pytest.raises(IntegrityError), transaction.atomic():
        SecretReference.objects.create(environment=env("production"), variable="DATABASE_URL", name="x/other",
                                       owner="someone")  # fmt: skip
