"""Deployment settings, read from the process environment where they are secrets."""

import os

from django.conf import settings


def git_webhook_secret() -> str:
    # A secret: read at use, never stored in the database.
    return os.environ.get("OPS_GIT_WEBHOOK_SECRET", getattr(settings, "OPS_GIT_WEBHOOK_SECRET", ""))
