"""Process entry points: load settings (a configuration error is one line) and set Django up without the cyclic GC.

Django's setup imports about a thousand modules and defines every model: a million objects that live as long
as the process. Python's collector walks them again and again while they are created (about 5 % of
`manage.py help`) and finds little to free. So an entry point turns it off first thing and `setup_django()`
turns it back on once the apps are ready; the few thousand cyclic leftovers go at its next full collection.
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
    """`django.setup()`, then the collector on again (the caller turned it off before its first import)."""
    import django

    try:
        django.setup()
    finally:
        gc.enable()
