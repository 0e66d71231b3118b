"""Load settings at a process entry point and turn a configuration error into one line."""

import sys

from django.core.exceptions import ImproperlyConfigured


def load_settings_or_exit():
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"amarise-ops: configuration error: {exc}\n")
        raise SystemExit(2) from None
