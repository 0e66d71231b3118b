"""Process entry points: load settings (a configuration error is one line) and set Django up without the cyclic GC.

Django's setup imports about a thousand modules and defines every model: objects that live as long as the
process. Python's collector walks them again and again while they are created, then once more after the
command, at exit, and finds almost nothing to free: 15 % of `manage.py help`. So an entry point turns it off
first thing, and `setup_django()` freezes what start-up made (the collector never walks it again) and turns it
back on. The price is the cyclic leftovers of start-up, about 6,000 small objects (under 1 MB), kept for the
life of the process.
"""

import gc
import sys

from django.core.exceptions import ImproperlyConfigured


def load_settings_or_exit():
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"amarise-ops: configuration error: {exc}\n")
        raise SystemExit(2) from None


def setup_django():
    """`django.setup()`, then the collector on again for what the command makes (the caller turned it off)."""
    import django

    try:
        django.setup()
    finally:
        gc.freeze()
        gc.enable()
