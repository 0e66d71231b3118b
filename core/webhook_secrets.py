"""The values the console's own webhooks are signed or authenticated with, read at use.

A webhook secret the secrets registry rotates lives in the secret manager: the registry plugs in a source that
answers with the current value first, then, during a rotation's overlap, the pending one. Without a source, or
for a variable it does not manage, the process environment (then settings) holds the one value. Values are
never stored in the database nor logged; core imports no app, hence the plug.
"""

import os
from collections.abc import Callable

from django.conf import settings

# variable -> [current, pending during an overlap], or None for a variable the source does not manage
Source = Callable[[str], list[str] | None]
_source: Source | None = None


def set_source(source: Source | None) -> None:
    global _source  # noqa: PLW0603 - one source per process, set once when the apps are ready
    _source = source


def accepted(variable: str) -> list[str]:
    """The values a request may be signed or authenticated with, the current one first; [] for none."""
    if _source is not None:
        values = _source(variable)
        if values is not None:
            return [v for v in values if v]
    value = os.environ.get(variable) or getattr(settings, variable, "") or ""
    return [value] if value else []


def current(variable: str) -> str:
    """The value to sign with: always the current one, never the pending one."""
    values = accepted(variable)
    return values[0] if values else ""
