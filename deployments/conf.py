"""Deployment settings, read from the process environment where they are secrets."""

from core import webhook_secrets


def git_webhook_secrets() -> list[str]:
    """A secret: read at use, never stored in the database. The current value, and the pending one while the
    secrets registry rotates it (core.webhook_secrets)."""
    return webhook_secrets.accepted("OPS_GIT_WEBHOOK_SECRET")
