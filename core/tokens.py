"""API tokens and service accounts: the rules for making them, and the cached lookup every API uses.

A token acts as its owner: the person who made it, or a service account that person may manage. Never as
anyone else, so a token can never do more than its owner could do with a click.
"""

import hashlib
import logging
import secrets
import time
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.models import EXPIRY_WARNING, ApiToken, Scope, ServiceAccount, default_expiry

logger = logging.getLogger("amarise_ops.auth")

TOKEN_MARK = "ops_"  # noqa: S105 - a public marker, not a secret; old tokens start ops_flags_, also accepted
ADD_PERMISSION = "core.add_apitoken"
MANAGE_SERVICE_ACCOUNTS = "core.manage_service_accounts"
REVOKE_PERMISSION = "core.revoke_apitoken"
LAST_USED_EVERY = 60  # seconds: last use is written at most this often per token


class TokenRefused(Exception):
    """A token or service account that may not be made as asked; the message says why."""


# --- Making tokens ----------------------------------------------------------------------------------------


def digest(raw: str) -> str:
    # The token is 32 random bytes, so a plain SHA-256 is enough: no dictionary to slow down.
    return hashlib.sha256(raw.encode()).hexdigest()


def generate() -> tuple[str, str, str]:
    """A new raw token with its display prefix and digest; the raw value is shown once and never stored."""
    prefix = f"{TOKEN_MARK}{secrets.token_hex(4)}"
    raw = f"{prefix}_{secrets.token_urlsafe(32)}"
    return raw, prefix, digest(raw)


def permissions_of(user) -> set[str]:
    return set(user.get_all_permissions()) if user.is_active else set()


def holds_all(holder, perms) -> bool:
    """A superuser holds everything; anyone else exactly their own permissions."""
    return holder.is_active and (holder.is_superuser or set(perms) <= permissions_of(holder))


def may_own_tokens_of(creator, owner) -> bool:
    """The rule: a token acts as its creator, or as a service account the creator manages and does not exceed."""
    if owner.pk == creator.pk:
        return True
    if not hasattr(owner, "service_account") or not creator.has_perm(MANAGE_SERVICE_ACCOUNTS):
        return False
    return not owner.is_superuser and holds_all(creator, permissions_of(owner))


def owners_for(creator):
    """Whom `creator` may make a token for: themselves and the service accounts they may manage."""
    candidates = (
        get_user_model().objects.filter(service_account__isnull=False)
        if creator.has_perm(MANAGE_SERVICE_ACCOUNTS)
        else get_user_model().objects.none()
    )
    allowed = [creator.pk] + [u.pk for u in candidates if may_own_tokens_of(creator, u)]
    return get_user_model().objects.filter(pk__in=allowed).order_by("username")


def clean_scopes(scopes) -> list[str]:
    scopes = sorted(set(scopes or []))
    unknown = [s for s in scopes if s not in Scope.values]
    if unknown:
        raise TokenRefused(f"Unknown scope {', '.join(unknown)}: choose from {', '.join(Scope.values)}.")
    if not scopes:
        raise TokenRefused("Choose at least one scope.")
    return scopes


def create_token(*, created_by, owner, name, scopes, environments, expires_at=None) -> tuple[ApiToken, str]:
    """(token, raw value). The raw value is for the creator's eyes once; only its digest is kept."""
    if created_by is None or not created_by.has_perm(ADD_PERMISSION):
        raise TokenRefused(f"{created_by or 'Nobody'} may not make API tokens.")
    if owner is None or not may_own_tokens_of(created_by, owner):
        raise TokenRefused(
            f"A token acts as its maker or a service account they manage; {created_by} may not make one for {owner}."
        )
    scopes = clean_scopes(scopes)
    environments = list(environments)
    if not environments:
        raise TokenRefused("Choose the environments the token may act on.")
    expires_at = expires_at or default_expiry()
    if expires_at <= timezone.now():
        raise TokenRefused("The expiry date must be in the future.")
    name = (name or "").strip()
    if not name:
        raise TokenRefused("Name the token after who uses it.")
    raw, prefix, token_digest = generate()
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name,
            prefix=prefix,
            digest=token_digest,
            owner=owner,
            created_by=created_by,
            scopes=scopes,
            expires_at=expires_at,
        )
        token.environments.set(environments)
    return token, raw


def revoke(*, actor, token_ids) -> int:
    """Revoke live tokens; their cached lookups are dropped when this commits."""
    if actor is None or not actor.has_perm(REVOKE_PERMISSION):
        raise TokenRefused(f"{actor or 'Nobody'} may not revoke API tokens.")
    count = 0
    with transaction.atomic():
        for token in ApiToken.objects.select_for_update().filter(pk__in=token_ids, revoked_at__isnull=True):
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            count += 1
    return count


def create_service_account(*, created_by, username, description="", permissions=(), groups=()) -> ServiceAccount:
    """A user for a machine: no usable password and no admin access, with at most its creator's permissions."""
    if created_by is None or not created_by.has_perm(MANAGE_SERVICE_ACCOUNTS):
        raise TokenRefused(f"{created_by or 'Nobody'} may not create service accounts.")
    User = get_user_model()
    username = (username or "").strip()
    if not username:
        raise TokenRefused("Name the service account, e.g. 'ci'.")
    if User.objects.filter(username=username).exists():
        raise TokenRefused(f"A user named {username!r} already exists.")
    permissions, groups = list(permissions), list(groups)
    granted = {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
    for group in groups:
        granted |= {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
    if not holds_all(created_by, granted):
        raise TokenRefused("A service account gets only permissions its creator holds.")
    with transaction.atomic():
        user = User(username=username, is_staff=False, is_superuser=False, is_active=True)
        user.set_unusable_password()
        user.save()
        user.user_permissions.set(permissions)
        user.groups.set(groups)
        return ServiceAccount.objects.create(user=user, description=description, created_by=created_by)


def grantable_permissions(user):
    qs = Permission.objects.select_related("content_type")
    if user.is_superuser:
        return qs
    own = permissions_of(user)
    ids = [p.pk for p in qs if f"{p.content_type.app_label}.{p.codename}" in own]
    return qs.filter(pk__in=ids)


def grantable_groups(user):
    return Group.objects.filter(
        pk__in=[
            g.pk
            for g in Group.objects.prefetch_related("permissions__content_type")
            if holds_all(user, {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()})
        ]
    )


def expiring(now=None):
    """Live tokens that expire within the warning period (a week), soonest first."""
    now = now or timezone.now()
    return (
        ApiToken.objects.filter(revoked_at__isnull=True, expires_at__gt=now, expires_at__lte=now + EXPIRY_WARNING)
        .select_related("owner")
        .prefetch_related("environments")
        .order_by("expires_at")
    )


# --- The cached lookup ------------------------------------------------------------------------------------


def _key(token_digest):
    return f"ops:auth:token:{token_digest}"


def cache_ttl() -> int:
    return getattr(settings, "OPS_TOKEN_CACHE_TTL", 300)


def describe(token) -> dict:
    """What a request needs to know about a token, cacheable as JSON."""
    return {
        "id": token.pk,
        "prefix": token.prefix,
        "name": token.name,
        "scopes": sorted(token.scopes),
        "environments": sorted(e.key for e in token.environments.all()),
        "owner_id": token.owner_id,
        "owner_active": token.owner.is_active,
        "expires_at": token.expires_at.timestamp(),
        "revoked": token.revoked_at is not None,
    }


def resolve(raw: str) -> dict | None:
    """The token's description, or None for a value that is no token of ours. Warm: no database query, no network.

    The descriptions live in the tracked cache (core/tracked_cache.py), the one the flag documents use: each
    process keeps a map from digest to description, and Redis tells every process when an entry changes.
    `forget()` deletes the entry when a revoke, rescope or owner change commits, so every process drops its copy
    before its next read (each read drains Redis's invalidations first) and looks the token up again.
    A database error is raised to the caller (the API answers 503), never taken for an unknown token.
    """
    if not raw or not raw.startswith(TOKEN_MARK):
        return None
    token_digest = digest(raw)
    cached = _cached(_store_get, _key(token_digest))
    if cached is not None:
        return cached or None
    token = ApiToken.objects.select_related("owner").filter(digest=token_digest).first()
    info = describe(token) if token is not None and secrets.compare_digest(token.digest, token_digest) else {}
    _cached(_store_add, _key(token_digest), info, cache_ttl())  # without a cache every request looks it up
    return info or None


def _store():
    from core.tracked_cache import get_store

    return get_store()


def _store_get(key):
    return _store().get(key)


def _store_add(key, value, ttl):
    # add, not set: never overwrites a description another process wrote meanwhile (a lookup racing a revoke
    # is bounded by the TTL, as before).
    _store().add(key, value, ttl)


# After a cache failure the lookup skips the cache for a second: a Redis that hangs costs one timeout per
# second, not one per cache call (a token check makes three).
CACHE_DOWN_FOR = 1.0
_cache_down_until = 0.0


def _cached(call, *args):
    global _cache_down_until  # noqa: PLW0603 - one flag per process, like the flags store's
    if time.monotonic() < _cache_down_until:
        return None
    try:
        return call(*args)
    except Exception as exc:
        _cache_down_until = time.monotonic() + CACHE_DOWN_FOR
        logger.warning("token cache unavailable for %ss: %s", CACHE_DOWN_FOR, exc)
        return None


def expired(info, now=None) -> bool:
    return (now or timezone.now()).timestamp() >= info["expires_at"]


_touched = {}  # token id -> monotonic time this process last claimed the minute's write


def touch(info) -> None:
    """Record the token's last use, at most once a minute: rarely a cache round trip, more rarely a write.

    Each process asks the shared cache at most once a minute per token (cache.add claims the minute for every
    process), so a warm read makes no network call for it.
    """
    now = time.monotonic()
    if now - _touched.get(info["id"], -LAST_USED_EVERY) < LAST_USED_EVERY:
        return
    _touched[info["id"]] = now
    if not _cached(cache.add, f"ops:auth:used:{info['id']}", 1, LAST_USED_EVERY):
        return  # used within the minute, or no cache to throttle with: no write on every read
    try:
        ApiToken.objects.filter(pk=info["id"]).update(last_used_at=timezone.now())
    except DatabaseError as exc:
        logger.warning("could not record the last use of token %s: %s", info["prefix"], exc)


def forget(token_digest: str) -> None:
    """Drop a token from the cache once its change commits (revoked, rescoped, owner deactivated, deleted)."""

    def drop():
        try:
            _store().delete(_key(token_digest))  # Redis tells every process holding it: next read looks it up
        except Exception as exc:
            logger.warning("could not drop token from the cache: %s", exc)

    transaction.on_commit(drop)


def forget_owner(user_id) -> None:
    for token_digest in ApiToken.objects.filter(owner_id=user_id).values_list("digest", flat=True):
        forget(token_digest)


def expires_text(expires_at: datetime) -> str:
    return timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M")
