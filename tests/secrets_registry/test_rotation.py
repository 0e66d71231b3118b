"""Automated rotation of a PostgreSQL role's password, in Secrets Manager's four steps, by a real Celery worker.

moto's server stands in for AWS Secrets Manager (a paid cloud service). The role lives in a PostgreSQL cluster
of these tests' own with SCRAM password authentication, so an old password really stops working.
"""

import subprocess

import boto3
import psycopg
import pytest
from django.db import connection

from secrets_registry import services
from secrets_registry.choices import RotationKind, RotationStep, RotationTarget, RunStatus
from secrets_registry.exceptions import RotationRefused
from secrets_registry.models import AccessAudit, RotationRun, SecretReference
from tests.conftest import wait_until
from tests.secrets_registry.cluster import ROLE
from tests.secrets_registry.conftest import ADMIN_URL_VARIABLE, DR_REGION, INITIAL_PASSWORD, REGION

pytestmark = pytest.mark.worker
NAME = "amarise/staging/DATABASE_URL"
FINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED)


def _aws():
    """The test's own look into moto's manager (what the console would never do: read values)."""
    from django.conf import settings

    return boto3.client("secretsmanager", endpoint_url=settings.OPS_SECRETS_ENDPOINT_URL, region_name=REGION)


def _stages():
    return _aws().describe_secret(SecretId=NAME)["VersionIdsToStages"]


def _value(stage="AWSCURRENT"):
    return _aws().get_secret_value(SecretId=NAME, VersionStage=stage)["SecretString"]


@pytest.fixture
def staging_database(secrets_seeded_tx, secrets_worker, role_cluster, manager, env):
    """staging's DATABASE_URL: the role's URL in the manager (replicated), and the reference that rotates it."""
    with role_cluster.admin() as conn:
        conn.execute(f"ALTER ROLE {ROLE} PASSWORD '{INITIAL_PASSWORD}'")
    manager.create(NAME, value=role_cluster.url(INITIAL_PASSWORD), replica_regions=(DR_REGION,))
    return SecretReference.objects.create(
        environment=env("staging"), variable="DATABASE_URL", name=NAME, owner="platform team",
        rotation_kind=RotationKind.AUTOMATIC, rotation_target=RotationTarget.POSTGRES_ROLE,
        target_environment=env("staging"), target_role=ROLE, admin_url_variable=ADMIN_URL_VARIABLE,
    )  # fmt: skip


def _wait(run, *statuses, timeout=60):
    wait_until(lambda: RotationRun.objects.get(pk=run.pk).status in statuses, timeout=timeout,
               what=f"rotation #{run.pk} to be {'/'.join(statuses)}")  # fmt: skip
    run.refresh_from_db()
    return run


def test_rotate_role_password__new_version_current__old_fails_new_connects__one_audit_row_per_step(
    staging_database, role_cluster
):
    original = _aws().describe_secret(SecretId=NAME)["VersionIdsToStages"]
    (original_version,) = original

    run = services.request_rotation(reference_id=staging_database.pk, via="test")
    _wait(run, *FINAL)

    assert run.status == RunStatus.SUCCEEDED, run.reason
    assert run.step == RotationStep.DONE
    stages = _stages()
    assert stages[run.pending_version_id] == ["AWSCURRENT"]
    assert stages[original_version] == ["AWSPREVIOUS"]
    assert not role_cluster.connects(role_cluster.url(INITIAL_PASSWORD))
    assert role_cluster.connects(_value())
    actions = list(AccessAudit.objects.filter(reference=staging_database).order_by("at", "pk")
                   .values_list("action", "version_id", "actor_kind"))  # fmt: skip
    assert actions == [(a, run.pending_version_id, "task") for a in
                       ("rotate_create", "rotate_set", "rotate_test", "rotate_finish")]  # fmt: skip
    staging_database.refresh_from_db()
    assert staging_database.last_rotated_at is not None
    assert list(run.events.values_list("new_status", flat=True)) == ["queued", "running", "succeeded"]


def test_worker_killed_between_set_and_finish__resumed__one_pending_version_at_most__db_and_manager_agree(
    staging_database, role_cluster, secrets_worker
):
    (original_version,) = _stages()
    # Hold the role's catalog row: the worker's ALTER ROLE (step 2) waits on it until we let go.
    blocker = psycopg.connect(role_cluster.admin_url)
    blocker.execute(f"ALTER ROLE {ROLE} CONNECTION LIMIT -1")
    try:
        run = services.request_rotation(reference_id=staging_database.pk, via="test")
        wait_until(lambda: RotationRun.objects.get(pk=run.pk).step == RotationStep.SET, what="step 1 done")
        with role_cluster.admin() as conn:
            wait_until(lambda: conn.execute("select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                                            "and query ilike 'ALTER ROLE%PASSWORD%'").fetchone()[0],
                       what="the worker's ALTER ROLE waiting")  # fmt: skip
            secrets_worker.kill_hard()
    finally:
        blocker.rollback()
        blocker.close()
    with role_cluster.admin() as conn:
        wait_until(lambda: not conn.execute("select count(*) from pg_stat_activity where query ilike "
                                            "'ALTER ROLE%PASSWORD%' and pid <> pg_backend_pid()").fetchone()[0],
                   what="the dead worker's ALTER ROLE to end")  # fmt: skip
    run.refresh_from_db()
    assert (run.status, run.step) == (RunStatus.RUNNING, RotationStep.SET)
    assert [v for v, s in _stages().items() if "AWSPENDING" in s] == [run.pending_version_id]

    secrets_worker.start()
    services.resume_rotation(run_id=run.pk)
    _wait(run, *FINAL)

    assert run.status == RunStatus.SUCCEEDED, run.reason
    stages = _stages()
    assert len(stages) == 2  # the original and one new version: the retry made no second pending one
    assert not [v for v, s in stages.items() if "AWSPENDING" in s]
    assert stages == {original_version: ["AWSPREVIOUS"], run.pending_version_id: ["AWSCURRENT"]}
    assert role_cluster.connects(_value())
    assert not role_cluster.connects(role_cluster.url(INITIAL_PASSWORD))
    steps = list(AccessAudit.objects.filter(reference=staging_database).values_list("action", flat=True))
    assert sorted(steps) == sorted(["rotate_create", "rotate_set", "rotate_test", "rotate_finish"])


def test_admin_role_unusable__run_failed_with_reason__awscurrent_still_works(staging_database, role_cluster):
    SecretReference.objects.filter(pk=staging_database.pk).update(admin_url_variable="OPS_SECRETS_UNSET_ADMIN_URL")

    run = services.request_rotation(reference_id=staging_database.pk, via="test")
    _wait(run, *FINAL)

    assert run.status == RunStatus.FAILED
    assert "OPS_SECRETS_UNSET_ADMIN_URL is not set in the worker's environment" in run.reason
    assert run.reason.startswith("2. Set in the target")
    assert role_cluster.connects(_value())  # AWSCURRENT still works
    assert role_cluster.connects(role_cluster.url(INITIAL_PASSWORD))
    assert run.events.filter(new_status=RunStatus.FAILED, reason__contains="not set").exists()


def test_retry_after_failure__reuses_the_pending_version__never_two(staging_database, role_cluster):
    SecretReference.objects.filter(pk=staging_database.pk).update(admin_url_variable="OPS_SECRETS_UNSET_ADMIN_URL")
    first = _wait(services.request_rotation(reference_id=staging_database.pk, via="test"), *FINAL)
    assert first.status == RunStatus.FAILED
    SecretReference.objects.filter(pk=staging_database.pk).update(admin_url_variable=ADMIN_URL_VARIABLE)

    second = _wait(services.request_rotation(reference_id=staging_database.pk, via="test"), *FINAL)

    assert second.status == RunStatus.SUCCEEDED, second.reason
    assert second.pending_version_id == first.pending_version_id
    assert len(_stages()) == 2
    assert role_cluster.connects(_value())


def _database_dump() -> str:
    settings_dict = connection.settings_dict
    return subprocess.run(
        ["/usr/lib/postgresql/15/bin/pg_dump", "-h", settings_dict["HOST"] or "127.0.0.1",
         "-p", str(settings_dict["PORT"] or 5432), "-U", settings_dict["USER"] or "postgres", settings_dict["NAME"]],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_value_scan__after_rotation__new_value_nowhere_in_database_dump_logs_or_celery_results(
    staging_database, role_cluster, secrets_worker, caplog
):
    from django_celery_results.models import TaskResult

    run = _wait(services.request_rotation(reference_id=staging_database.pk, via="test"), *FINAL)
    assert run.status == RunStatus.SUCCEEDED, run.reason
    value = _value()
    password = psycopg.conninfo.conninfo_to_dict(value)["password"]
    assert len(password) >= 40 and role_cluster.connects(value)

    dump = _database_dump()
    assert NAME in dump and run.pending_version_id in dump  # the dump holds the references and the audit
    results = list(TaskResult.objects.filter(task_name="secrets_registry.rotation_step"))
    assert len(results) >= 4
    worker_log = secrets_worker.log_path.read_text(errors="replace")
    assert "secrets_registry.rotation_step[" in worker_log
    server_log = role_cluster.log_file.read_text(errors="replace")
    assert "ALTER ROLE" in server_log  # log_statement = all: the server saw the statement, hashed

    celery_results = repr([(r.task_args, r.task_kwargs, r.result) for r in results])
    for place, text in [("database dump", dump), ("worker log", worker_log), ("PostgreSQL log", server_log),
                        ("this process's log", caplog.text), ("Celery results", celery_results)]:  # fmt: skip
        assert password not in text, f"the new password appears in the {place}"
        assert value not in text, f"the new value appears in the {place}"


def test_production__rotation_waits_for_a_second_person(secrets_seeded, make_user):
    database = SecretReference.objects.get(name="amarise/production/DATABASE_URL")
    alice = make_user("alice", "secrets_registry.rotate_secrets", "secrets_registry.approve_production_rotation")
    bob = make_user("bob", "secrets_registry.approve_production_rotation")

    run = services.request_rotation(reference_id=database.pk, user=alice)
    assert run.status == RunStatus.AWAITING_APPROVAL
    with pytest.raises(RotationRefused, match="second person"):
        services.approve_rotation(run_id=run.pk, user=alice)
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL
    with pytest.raises(RotationRefused, match="already has a rotation"):
        services.request_rotation(reference_id=database.pk, user=alice)

    services.approve_rotation(run_id=run.pk, user=bob)
    run.refresh_from_db()
    assert (run.status, run.approved_by) == (RunStatus.QUEUED, bob)
    assert list(run.events.values_list("new_status", "actor")) == [("awaiting_approval", "alice"), ("queued", "bob")]


def test_rotation__manual_kind_or_no_permission__refused(secrets_seeded, make_user):
    from django.core.exceptions import PermissionDenied

    stripe = SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY")
    with pytest.raises(RotationRefused, match="mark it rotated"):
        services.request_rotation(reference_id=stripe.pk, via="test")
    database = SecretReference.objects.get(name="amarise/production/DATABASE_URL")
    with pytest.raises(PermissionDenied):
        services.request_rotation(reference_id=database.pk, user=make_user("nobody"))
    assert not RotationRun.objects.exists()


def test_service_token_by_the_worker__rotated__raw_tokens_nowhere_in_database_dump_worker_log_or_celery_results(
    secrets_seeded_tx, secrets_worker, manager, env, superuser
):
    """The one run of the service-token kind through the worker (the steps are tested in this process in
    test_rotation_targets.py): what the worker records must hold no raw token."""
    from django_celery_results.models import TaskResult

    from core import tokens

    # Given a service account's token whose raw value is only in the manager
    account = tokens.create_service_account(created_by=superuser, username="storefront-api")
    _, old_raw = tokens.create_token(created_by=superuser, owner=account.user, name="storefront staging",
                                     scopes=["flags:read"], environments=[env("staging")])  # fmt: skip
    name = "amarise/staging/STOREFRONT_API_TOKEN"
    manager.create(name, value=old_raw)
    reference = SecretReference.objects.create(
        environment=env("staging"), variable="STOREFRONT_API_TOKEN", name=name, owner="platform team",
        rotation_kind=RotationKind.AUTOMATIC, rotation_target=RotationTarget.SERVICE_TOKEN,
        target_service_account=account,
    )  # fmt: skip

    # When the worker rotates it
    run = _wait(services.request_rotation(reference_id=reference.pk, user=superuser), *FINAL)

    # Then the new token is current and authenticates, the old one is revoked
    assert run.status == RunStatus.SUCCEEDED, run.reason
    new_raw = manager.get_value(name, stage="AWSCURRENT")[0]
    assert new_raw != old_raw
    assert tokens.resolve(new_raw)["revoked"] is False and tokens.resolve(old_raw)["revoked"] is True
    # And neither raw token is in the database, the worker's log or the Celery results
    results = list(TaskResult.objects.filter(task_name="secrets_registry.rotation_step"))
    assert len(results) >= 4
    celery_results = repr([(r.task_args, r.task_kwargs, r.result) for r in results])
    dump, worker_log = _database_dump(), secrets_worker.log_path.read_text(errors="replace")
    assert tokens.digest(new_raw) in dump
    for place, text in [("database dump", dump), ("worker log", worker_log), ("Celery results", celery_results)]:
        assert new_raw not in text and old_raw not in text, f"a raw token appears in the {place}"
