"""Automatic rotation of the console's own webhook secrets and of service accounts' API tokens: the same four
steps as a PostgreSQL role's password, called here in this process (no worker).

moto's server mode stands in for AWS Secrets Manager, the paid cloud service (tests/secrets_registry/conftest.py).
Everything else is real: PostgreSQL, Redis (the token cache), the console's webhook views.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from core import tokens
from core.auth import AuthError, check_token
from core.models import ApiToken
from secrets_registry import services, webhook_source
from secrets_registry.choices import AuditAction, RotationKind, RotationTarget, RunStatus
from secrets_registry.drivers.base import CURRENT, PENDING, PREVIOUS
from secrets_registry.models import AccessAudit, SecretReference

STEP_ACTIONS = [AuditAction.ROTATE_CREATE, AuditAction.ROTATE_SET, AuditAction.ROTATE_TEST, AuditAction.ROTATE_FINISH]


def _database_text() -> str:
    """Every row of every table, as text, as this transaction sees it (a value scan of the whole database)."""
    with connection.cursor() as cursor:
        cursor.execute("select tablename from pg_tables where schemaname = 'public'")
        tables = [row[0] for row in cursor.fetchall()]
        rows = []
        for table in tables:
            cursor.execute(f"select t::text from {connection.ops.quote_name(table)} t")  # noqa: S608 - catalog names
            rows.extend(row[0] for row in cursor.fetchall())
    return "\n".join(rows)


def _advance(run, manager, steps=4):
    for _ in range(steps):
        services.advance_rotation(run_id=run.pk, manager=manager)
    run.refresh_from_db()
    return run


def _audit(reference):
    return list(AccessAudit.objects.filter(reference=reference).order_by("at", "pk").values_list("action", flat=True))


# --- The console's own webhook secrets ---------------------------------------------------------------------


def _git_accepts(client, secret):
    body = b'{"zen": "rotate"}'
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    response = client.post("/api/hooks/git/", body, content_type="application/json",
                           headers={"X-GitHub-Event": "ping", "X-Hub-Signature-256": signature})  # fmt: skip
    return response.status_code != 401


def _alertmanager_accepts(client, token):
    # An empty payload: 400 once the token is accepted, 401 if it is not.
    response = client.post("/api/alerts/alertmanager/", b"{}", content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    return response.status_code != 401


RECEIVERS = {"OPS_GIT_WEBHOOK_SECRET": _git_accepts, "OPS_MONITORING_WEBHOOK_TOKEN": _alertmanager_accepts}


@pytest.fixture
def webhook_reference(secrets_seeded, manager, env, monkeypatch, request):
    variable = request.param
    monkeypatch.delenv(variable, raising=False)
    old = "old-" + secrets.token_urlsafe(24)
    name = f"amarise/staging/{variable}"
    manager.create(name, value=old)
    reference = SecretReference.objects.create(
        environment=env("staging"), variable=variable, name=name, owner="platform team",
        rotation_kind=RotationKind.AUTOMATIC, rotation_target=RotationTarget.CONSOLE_WEBHOOK,
    )  # fmt: skip
    return reference, old


@pytest.mark.parametrize("webhook_reference", list(RECEIVERS), indirect=True)
def test_rotate_console_webhook__pending_accepted_from_set_to_finish__then_only_the_new__audited__no_value_in_db(
    webhook_reference, manager, superuser
):
    # Given a webhook secret the console reads from the manager, and a rotation requested
    reference, old = webhook_reference
    accepts, client = RECEIVERS[reference.variable], Client()
    assert accepts(client, old)
    run = services.request_rotation(reference_id=reference.pk, user=superuser)

    # When step 1 creates AWSPENDING, the console does not accept it yet
    _advance(run, manager, steps=1)
    pending, _ = manager.get_value(reference.name, stage=PENDING)
    assert pending != old and not accepts(client, pending)

    # When step 2 sets it, the console accepts both during the overlap
    _advance(run, manager, steps=1)
    assert accepts(client, pending) and accepts(client, old)

    # When test and finish run
    run = _advance(run, manager, steps=2)

    # Then the pending value is AWSCURRENT, the old one AWSPREVIOUS and refused, the new one accepted
    assert run.status == RunStatus.SUCCEEDED, run.reason
    description = manager.describe(reference.name)
    assert description.current_version_id == run.pending_version_id
    assert PREVIOUS in description.versions[run.previous_version_id]
    assert webhook_source.ACCEPTING not in sum(description.versions.values(), [])
    assert manager.get_value(reference.name, stage=CURRENT)[0] == pending
    assert accepts(client, pending) and not accepts(client, old)
    # And one audit row per step, and neither value anywhere in the database
    assert _audit(reference) == STEP_ACTIONS
    database = _database_text()
    assert reference.name in database and pending not in database and old not in database


@pytest.mark.parametrize("webhook_reference", ["OPS_INCIDENT_WEBHOOK_SECRET"], indirect=True)
def test_rotate_incident_webhook__the_console_signs_with_the_new_current_after_finish(
    webhook_reference, manager, superuser
):
    from incidents.public import webhook_secret

    reference, old = webhook_reference
    assert webhook_secret() == old
    run = _advance(services.request_rotation(reference_id=reference.pk, user=superuser), manager, steps=2)
    assert webhook_secret() == old  # signing stays on AWSCURRENT during the overlap

    run = _advance(run, manager, steps=2)

    assert run.status == RunStatus.SUCCEEDED, run.reason
    assert webhook_secret() == manager.get_value(reference.name, stage=CURRENT)[0] != old


def test_console_webhook_reference__variable_not_a_console_webhook__refused(secrets_seeded, env):
    reference = SecretReference(
        environment=env("staging"), variable="STRIPE_SECRET_KEY", name="amarise/staging/X", owner="payments",
        rotation_kind=RotationKind.AUTOMATIC, rotation_target=RotationTarget.CONSOLE_WEBHOOK,
    )  # fmt: skip
    with pytest.raises(Exception, match="A console webhook secret is one of OPS_GIT_WEBHOOK_SECRET"):
        reference.full_clean()


# --- Service account API tokens ----------------------------------------------------------------------------


@pytest.fixture
def token_reference(secrets_seeded, manager, env, superuser):
    account = tokens.create_service_account(created_by=superuser, username="storefront-api")
    old, old_raw = tokens.create_token(
        created_by=superuser, owner=account.user, name="storefront staging", scopes=["flags:read"],
        environments=[env("staging")], expires_at=timezone.now() + timedelta(days=30),
    )  # fmt: skip
    name = "amarise/staging/STOREFRONT_API_TOKEN"
    manager.create(name, value=old_raw)
    reference = SecretReference.objects.create(
        environment=env("staging"), variable="STOREFRONT_API_TOKEN", name=name, owner="platform team",
        rotation_kind=RotationKind.AUTOMATIC, rotation_target=RotationTarget.SERVICE_TOKEN,
        target_service_account=account,
    )  # fmt: skip
    return reference, old, old_raw


def _advance_committing_cache_drops(run, manager, capture, steps=4):
    """_advance, then what the commit does for a revoked token (core.tokens.forget drops its cached lookup). The
    steps' enqueued next steps are not sent: these tests call each step themselves."""
    with capture() as callbacks:
        run = _advance(run, manager, steps)
    for callback in callbacks:
        if callback.__qualname__.startswith("forget."):
            callback()
    return run


def _authenticates(raw):
    try:
        check_token(tokens.resolve(raw), scope="flags:read", environment="staging")
    except AuthError:
        return False
    return True


def test_rotate_service_token__new_token_current__old_revoked__same_scopes__audited__raw_nowhere_in_db(
    token_reference, manager, superuser, django_capture_on_commit_callbacks
):
    # Given a service account's token whose raw value lives only in the manager
    reference, old, old_raw = token_reference
    assert _authenticates(old_raw)

    # When it is rotated
    run = services.request_rotation(reference_id=reference.pk, user=superuser)
    run = _advance_committing_cache_drops(run, manager, django_capture_on_commit_callbacks)

    # Then a new token of the same account, scopes, environments and lifetime is AWSCURRENT and authenticates
    assert run.status == RunStatus.SUCCEEDED, run.reason
    description = manager.describe(reference.name)
    assert description.current_version_id == run.pending_version_id
    assert PREVIOUS in description.versions[run.previous_version_id]
    new_raw, _ = manager.get_value(reference.name, stage=CURRENT)
    new = ApiToken.objects.get(digest=tokens.digest(new_raw))
    assert (new.owner_id, new.name, new.scopes) == (old.owner_id, old.name, old.scopes)
    assert list(new.environments.values_list("key", flat=True)) == ["staging"]
    assert abs((new.expires_at - new.created_at) - (old.expires_at - old.created_at)) < timedelta(minutes=1)
    assert _authenticates(new_raw)
    # And the previous token is revoked and refused
    old.refresh_from_db()
    assert old.revoked_at is not None and not _authenticates(old_raw)
    # And one audit row per step; the console's database holds digests, never a raw token
    assert _audit(reference) == STEP_ACTIONS
    database = _database_text()
    assert new.digest in database and new_raw not in database and old_raw not in database


def test_rotate_service_token__test_step_fails__run_failed__awscurrent_works__retry_makes_no_second_pending(
    token_reference, manager, superuser, django_capture_on_commit_callbacks
):
    # Given a rotation whose pending token is revoked (by someone) between set and test
    reference, old, old_raw = token_reference
    run = _advance(services.request_rotation(reference_id=reference.pk, user=superuser), manager, steps=2)
    pending_raw, _ = manager.get_value(reference.name, stage=PENDING)
    tokens.revoke(actor=superuser, token_ids=[ApiToken.objects.get(digest=tokens.digest(pending_raw)).pk])

    # When the test step runs
    run = _advance(run, manager, steps=1)

    # Then the run failed with its reason, and AWSCURRENT (the old token) still authenticates
    assert run.status == RunStatus.FAILED
    assert run.reason == "3. Test: authenticating with the pending token failed"
    assert manager.get_value(reference.name, stage=CURRENT)[0] == old_raw and _authenticates(old_raw)

    # When a new rotation runs, it replaces the unusable pending version: one pending version at most
    retry = _advance(services.request_rotation(reference_id=reference.pk, user=superuser), manager, steps=1)
    labels = manager.describe(reference.name).versions
    assert [vid for vid, stages in labels.items() if PENDING in stages] == [retry.pending_version_id]
    assert retry.pending_version_id != run.pending_version_id
    retry = _advance_committing_cache_drops(retry, manager, django_capture_on_commit_callbacks, steps=3)
    assert retry.status == RunStatus.SUCCEEDED, retry.reason
    assert _authenticates(manager.get_value(reference.name, stage=CURRENT)[0]) and not _authenticates(old_raw)


def test_rotate_service_token__requester_may_not_revoke_tokens__refused_at_create__nothing_made(
    token_reference, manager, make_user
):
    reference, old, old_raw = token_reference
    alice = make_user("alice", "secrets_registry.rotate_secrets", "core.add_apitoken", "core.manage_service_accounts")
    tokens_before = ApiToken.objects.count()

    run = _advance(services.request_rotation(reference_id=reference.pk, user=alice), manager, steps=1)

    assert run.status == RunStatus.FAILED
    assert run.reason == "1. Create AWSPENDING: alice may not revoke API tokens, so cannot rotate " + old.prefix
    assert ApiToken.objects.count() == tokens_before
    assert manager.describe(reference.name).pending_version_id is None
    assert _authenticates(old_raw)


def test_service_token_reference__without_its_service_account__refused(secrets_seeded, env):
    reference = SecretReference(
        environment=env("staging"), variable="STOREFRONT_API_TOKEN", name="amarise/staging/T", owner="platform",
        rotation_kind=RotationKind.AUTOMATIC, rotation_target=RotationTarget.SERVICE_TOKEN,
    )  # fmt: skip
    with pytest.raises(Exception, match="Needed to rotate a service account's API token"):
        reference.full_clean()
