"""Rotation targets besides the PostgreSQL role (rotation.PostgresRole): what set, test and finish mean for
the console's own webhook secrets and for service accounts' API tokens. The four steps are rotation.perform's.
"""

import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from core import tokens, webhook_secrets
from core.models import ApiToken
from core.tasks import enqueue
from secrets_registry.drivers.base import CURRENT
from secrets_registry.webhook_source import ACCEPTING

# The console writes Alertmanager's token file from monitoring's configuration (enqueued by name).
MONITORING_APPLY_TASK = "monitoring.apply_configuration"
ALERTMANAGER_TOKEN = "OPS_MONITORING_WEBHOOK_TOKEN"  # noqa: S105 - a variable's name


def _failed(message):
    from secrets_registry.rotation import StepFailed

    return StepFailed(message)


def _current_version(manager, name):
    return manager.describe(name).version_with(CURRENT)


class ConsoleWebhook:
    """A random value; set = the console starts accepting AWSPENDING (label ACCEPTING), test = the console's
    verifier accepts it, finish = AWSCURRENT moves and the old value is no longer accepted.

    For Alertmanager's token the console also writes Alertmanager's configuration: it sends the newest
    accepted token, so it moves to the pending one during the overlap. The git host and the incident webhook's
    receiver are someone else's: they read the new value from the manager (README, Secrets)."""

    @staticmethod
    def new_value(run, manager, current):
        return secrets.token_urlsafe(32)

    @staticmethod
    def reusable(run, pending):
        return True

    @staticmethod
    def set(run, manager, value):
        manager.label(run.reference.name, stage=ACCEPTING, version_id=run.pending_version_id)
        if run.reference.variable == ALERTMANAGER_TOKEN:
            enqueue(MONITORING_APPLY_TASK)

    @staticmethod
    def test(run, manager, value):
        accepted = webhook_secrets.accepted(run.reference.variable)
        if not any(hmac.compare_digest(value.encode(), v.encode()) for v in accepted):
            raise _failed(f"the console does not accept the pending {run.reference.variable} yet")

    @staticmethod
    def finished(run, manager):
        manager.unlabel(run.reference.name, stage=ACCEPTING)

    @staticmethod
    def revert(run, manager):
        manager.unlabel(run.reference.name, stage=ACCEPTING)
        if run.reference.variable == ALERTMANAGER_TOKEN:
            enqueue(MONITORING_APPLY_TASK)
        return _current_version(manager, run.reference.name)


def _token(raw):
    return ApiToken.objects.select_related("owner").filter(digest=tokens.digest(raw)).first()


def _live(token, account):
    return token is not None and token.revoked_at is None and token.owner_id == account.user_id


class ServiceToken:
    """The value is a service account's raw API token (the console keeps only its digest). create = a new token
    for the same account, scopes, environments and lifetime; set = it is live in the console; test =
    authenticating with it; finish = AWSCURRENT moves, then the previous token is revoked (end of the overlap).
    The rotation acts as its requester (or approver), else the previous token's maker: tokens never exceed
    their maker (core.tokens)."""

    @staticmethod
    def _maker(run, token):
        maker = run.approved_by or run.requested_by or token.created_by
        if maker is None:
            raise _failed(f"no one to make the token as: token {token.prefix} has no maker left")
        if not maker.has_perm(tokens.REVOKE_PERMISSION):
            raise _failed(f"{maker} may not revoke API tokens, so cannot rotate {token.prefix}")
        return maker

    @staticmethod
    def new_value(run, manager, current):
        account = run.reference.target_service_account
        old = _token(current)
        if old is None:
            raise _failed("AWSCURRENT is not an API token of the console")
        if old.owner_id != account.user_id:
            raise _failed(f"AWSCURRENT is a token of {old.owner}, not of the service account {account}")
        lifetime = max(old.expires_at - old.created_at, timedelta(days=1))
        try:
            _, raw = tokens.create_token(
                created_by=ServiceToken._maker(run, old), owner=old.owner, name=old.name, scopes=old.scopes,
                environments=list(old.environments.all()), expires_at=timezone.now() + lifetime,
            )  # fmt: skip
        except tokens.TokenRefused as exc:
            raise _failed(f"making the new token was refused: {exc}") from None
        return raw

    @staticmethod
    def reusable(run, pending):
        return _live(_token(pending), run.reference.target_service_account)

    @staticmethod
    def set(run, manager, value):
        if not _live(_token(value), run.reference.target_service_account):
            raise _failed("the pending token is not live in the console")

    @staticmethod
    def test(run, manager, value):
        account = run.reference.target_service_account
        info = tokens.resolve(value)
        if not info or info["revoked"] or tokens.expired(info) or not info["owner_active"]:
            raise _failed("authenticating with the pending token failed")
        if info["owner_id"] != account.user_id:
            raise _failed(f"the pending token authenticates as someone other than {account}")

    @staticmethod
    def finished(run, manager):
        previous = _token(manager.get_value(run.reference.name, version_id=run.previous_version_id)[0])
        if previous is not None and previous.revoked_at is None:
            ServiceToken._revoke(run, previous)

    @staticmethod
    def _revoke(run, token):
        try:
            tokens.revoke(actor=ServiceToken._maker(run, token), token_ids=[token.pk])
        except tokens.TokenRefused as exc:
            raise _failed(f"revoking token {token.prefix} was refused: {exc}") from None

    @staticmethod
    def revert(run, manager):
        """The token made for this run is revoked, unless it already is AWSCURRENT (finish moved it)."""
        current = _current_version(manager, run.reference.name)
        if run.pending_version_id and run.pending_version_id != current:
            pending = _token(manager.get_value(run.reference.name, version_id=run.pending_version_id)[0])
            if pending is not None and pending.revoked_at is None:
                ServiceToken._revoke(run, pending)
        return current
