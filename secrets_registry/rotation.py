"""The four steps of a rotation (Secrets Manager's createSecret, setSecret, testSecret, finishSecret) for a
PostgreSQL role password. The secret's value is the role's database URL; a step reads it, uses it and drops it.

Each step is idempotent: create reuses the pending version (its token, or one a crashed run left), set runs
ALTER ROLE again with the same pending password, test only connects, finish sees AWSCURRENT already moved.
The password reaches PostgreSQL already SCRAM-hashed by libpq, so not even the server's statement log sees it.
"""

import os
import secrets
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from secrets_registry.choices import RotationStep
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


def perform(run, manager) -> None:
    """Do `run.step`; sets pending_version_id / previous_version_id on `run` (the caller saves)."""
    reference = run.reference
    step = run.step
    if step == RotationStep.CREATE:
        description = manager.describe(reference.name)
        current = description.current_version_id
        if not current:
            raise StepFailed(f"{reference.name} has no AWSCURRENT version to rotate from")
        if run.pending_version_id and run.pending_version_id in description.versions:
            return  # done before a crash
        pending = description.pending_version_id
        if pending is None:
            value, _ = _get(manager, reference, stage=CURRENT)
            value = with_password(value, reference.target_role, new_password())
            pending = manager.put_pending(reference.name, token=run.token, value=value)
        run.pending_version_id, run.previous_version_id = pending, current
    elif step == RotationStep.SET:
        value, _ = _get(manager, reference, version_id=run.pending_version_id, stage=PENDING)
        set_role_password(reference, value)
    elif step == RotationStep.TEST:
        value, _ = _get(manager, reference, version_id=run.pending_version_id, stage=PENDING)
        try:
            with psycopg.connect(value, connect_timeout=_CONNECT_TIMEOUT) as conn:
                user = conn.execute("select current_user").fetchone()[0]
        except psycopg.Error as exc:
            raise StepFailed(f"connecting with the pending password failed: {_scrub(str(exc), value)}") from None
        if user != reference.target_role:
            raise StepFailed(f"connected as {user}, not {reference.target_role}")
    elif step == RotationStep.FINISH:
        description = manager.describe(reference.name)
        current = description.current_version_id
        if current == run.pending_version_id and description.pending_version_id is None:
            return  # already moved before a crash
        manager.promote(reference.name, version_id=run.pending_version_id, from_version_id=current)
    else:
        raise StepFailed(f"nothing to do at step {step}")


def revert_target(run, manager) -> str:
    """Put the role back on the AWSCURRENT password, so a failed run leaves AWSCURRENT working. Returns its id."""
    reference = run.reference
    value, version_id = _get(manager, reference, stage=CURRENT)
    set_role_password(reference, value)
    return version_id
