"""API token lookup, cached so that a token-authenticated read on a warm cache runs no query."""

import logging

from django.db import transaction
from django.utils.crypto import constant_time_compare

from flags import conf
from flags.documents import SCHEMA
from flags.models import TOKEN_PREFIX, ApiToken, token_digest
from flags.store import get_store

logger = logging.getLogger("amarise_ops.flags")


def _key(digest):
    return f"ops:flags:{SCHEMA}:token:{digest}"


def bearer(request) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-API-Key", "").strip()


def resolve(raw: str):
    """{"id", "environments", "can_write", "acts_as_id"} for a live token, else None."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    digest = token_digest(raw)
    try:
        cached = get_store().get(_key(digest))
    except Exception:
        cached = None
    if cached is not None:
        return cached or None
    token = ApiToken.objects.filter(digest=digest, revoked_at__isnull=True).prefetch_related("environments").first()
    info = {}
    if token is not None and constant_time_compare(token.digest, digest):
        info = {
            "id": token.pk,
            "name": token.name,
            "environments": sorted(e.key for e in token.environments.all()),
            "can_write": token.can_write,
            "acts_as_id": token.acts_as_id,
        }
    try:
        get_store().set(_key(digest), info, conf.cache_ttl())
    except Exception:  # noqa: S110 - without a cache every request looks the token up
        pass
    return info or None


def forget(digest: str):
    """Drop a token from the cache once its change commits (revoked, rescoped, deleted)."""

    def drop():
        try:
            get_store().delete(_key(digest))
        except Exception as exc:
            logger.warning("could not drop token from the cache: %s", exc)

    transaction.on_commit(drop)
