"""The four steps of a rotation (Secrets Manager's createSecret, setSecret, testSecret, finishSecret), the same
for every target; what set, test and finish do is the target's (PostgresRole here, the console's webhook
secrets and service account tokens in rotation_targets.py). A step reads a value, uses it and drops it.

For a PostgreSQL role password, the secret's value is the role's database URL.

Each step is idempotent: create reuses the pending version (its token, or one a crashed run left), set runs
ALTER ROLE again with the same pending password, test only connects, finish sees AWSCURRENT already moved.
The password reaches PostgreSQL already SCRAM-hashed by libpq, so not even the server's statement log sees it.
"""

import os
import secrets
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
from django.db import transaction
from psycopg import sql

from secrets_registry.choices import RotationStep, RotationTarget
from secrets_registry.drivers.base import CURRENT, PENDING

_CONNECT_TIMEOUT = 10


class StepFailed(Exception):
    """A step cannot complete; the message is shown on the run and never holds a value."""


def new_password() -> str:
    return secrets.token_urlsafe(32)


def _parts(url: str, role: str):
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"} or not parts.hostname:
        raise StepFailed("the secret's value is not a postgres:// URL")
    if unquote(parts.username or "") != role:
        raise StepFailed(f"the secret's URL is not for role {role}")
    return parts


def with_password(url: str, role: str, password: str) -> str:
    parts = _parts(url, role)
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def password_of(url: str, role: str) -> str:
    return unquote(_parts(url, role).password or "")


def _scrub(text: str, *urls: str) -> str:
    """`text` without the URLs given, nor their passwords (a driver's or libpq's message may quote either)."""
    for url in urls:
        if not url:
            continue
        try:
            password = unquote(urlsplit(url).password or "")
        except ValueError:
            password = ""
        for secret in (url, password, quote(password, safe="")):
            if secret:
                text = text.replace(secret, "***")
    return text


def _admin_url(reference) -> str:
    url = os.environ.get(reference.admin_url_variable, "").strip()
    if not url:
        raise StepFailed(f"{reference.admin_url_variable} is not set in the worker's environment")
    return url


def set_role_password(reference, url: str) -> None:
    """ALTER ROLE … PASSWORD as the environment's admin role, with the password of `url` hashed client-side."""
    password = password_of(url, reference.target_role)
    admin_url, role = _admin_url(reference), reference.target_role
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT) as conn:
            hashed = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(hashed)))
    except psycopg.Error as exc:
        detail = _scrub(str(exc), url, admin_url)
        raise StepFailed(f"ALTER ROLE {role} as the admin role failed: {detail}") from None


def _get(manager, reference, **kwargs):
    return manager.get_value(reference.name, **kwargs)


# --- Targets: what "set", "test" and "finish" mean for each kind of secret ---------------------------------


class PostgresRole:
    """The value is the role's database URL; set = ALTER ROLE, test = connect as the role."""

    @staticmethod
    def new_value(run, manager, current):
        return with_password(current, run.reference.target_role, new_password())

    @staticmethod
    def reusable(run, pending):
        return True

    @staticmethod
    def set(run, manager, value):
        set_role_password(run.reference, value)

    @staticmethod
    def test(run, manager, value):
        reference = run.reference
        try:
            with psycopg.connect(value, connect_timeout=_CONNECT_TIMEOUT) as conn:
                user = conn.execute("select current_user").fetchone()[0]
        except psycopg.Error as exc:
            raise StepFailed(f"connecting with the pending password failed: {_scrub(str(exc), value)}") from None
        if user != reference.target_role:
            raise StepFailed(f"connected as {user}, not {reference.target_role}")

    @staticmethod
    def finished(run, manager):
        pass

    @staticmethod
    def revert(run, manager):
        value, version_id = _get(manager, run.reference, stage=CURRENT)
        set_role_password(run.reference, value)
        return version_id


def _targets():
    from secrets_registry import rotation_targets

    return {
        RotationTarget.POSTGRES_ROLE: PostgresRole,
        RotationTarget.CONSOLE_WEBHOOK: rotation_targets.ConsoleWebhook,
        RotationTarget.SERVICE_TOKEN: rotation_targets.ServiceToken,
    }


def target_of(reference):
    target = _targets().get(reference.rotation_target)
    if target is None:
        raise StepFailed(f"{reference.name} has no rotation target the console knows")
    return target


def perform(run, manager) -> None:
    """Do `run.step`; sets pending_version_id / previous_version_id on `run` (the caller saves)."""
    reference = run.reference
    target = target_of(reference)
    step = run.step
    if step == RotationStep.CREATE:
        description = manager.describe(reference.name)
        current = description.current_version_id
        if not current:
            raise StepFailed(f"{reference.name} has no AWSCURRENT version to rotate from")
        if run.pending_version_id and run.pending_version_id in description.versions:
            return  # done before a crash
        pending = description.pending_version_id
        if pending is not None and not target.reusable(run, _get(manager, reference, version_id=pending)[0]):
            if run.token in description.versions:  # this run's own version, unusable: a new run makes another
                raise StepFailed("the pending version this run made is unusable: request a new rotation")
            pending = None  # a failed run's leftover: the new version takes its AWSPENDING label
        if pending is None:
            value, _ = _get(manager, reference, stage=CURRENT)
            with transaction.atomic():  # a token made for the value is undone if the manager refuses it
                value = target.new_value(run, manager, value)
                pending = manager.put_pending(reference.name, token=run.token, value=value)
        run.pending_version_id, run.previous_version_id = pending, current
    elif step == RotationStep.SET:
        value, _ = _get(manager, reference, version_id=run.pending_version_id, stage=PENDING)
        target.set(run, manager, value)
    elif step == RotationStep.TEST:
        value, _ = _get(manager, reference, version_id=run.pending_version_id, stage=PENDING)
        target.test(run, manager, value)
    elif step == RotationStep.FINISH:
        description = manager.describe(reference.name)
        current = description.current_version_id
        if not (current == run.pending_version_id and description.pending_version_id is None):
            manager.promote(reference.name, version_id=run.pending_version_id, from_version_id=current)
        target.finished(run, manager)  # idempotent: also after a crash that followed the move
    else:
        raise StepFailed(f"nothing to do at step {step}")


def revert_target(run, manager) -> str:
    """Put the target back on the AWSCURRENT value, so a failed run leaves AWSCURRENT working. Returns its id."""
    return target_of(run.reference).revert(run, manager)
