"""Values the console writes into configuration files and command lines it generates: none may change
their structure (a newline that starts a new setting, a `;` that starts a new HAProxy command).

Models call `problem()` in clean() for a clear message on the form; the writers call `check()` as the
last line of defence, so a value that got past a form (an import, a shell, an old row) is still refused.
"""

import re

# C0 and C1 control characters (newline, NUL, escape...), DEL, and the Unicode line and paragraph separators:
# each can end a line or hide one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")

# Characters that open or close a structure in each kind of file, beyond the control characters.
# pgBackRest's INI: a value runs to the end of its line; leading and trailing blanks are dropped (checked apart).
INI_VALUE = ""
# HAProxy's runtime API: blanks separate arguments, `;` separates commands, `#` starts a comment, quotes and
# backslashes escape, `$` expands a variable, `/` separates backend and server.
HAPROXY_NAME = " \t;#'\"\\$/"
# YAML is written by yaml.safe_dump, which quotes what it must: only the control characters are refused.
YAML_VALUE = ""


class ConfigValueRefused(ValueError):
    """A value that would change the structure of a generated file."""


def problem(value, *, forbidden: str = "", strip_sensitive: bool = False) -> str:
    """Why `value` cannot be written into a generated file, or '' when it can."""
    text = "" if value is None else str(value)
    if _CONTROL.search(text):
        return "it contains a newline or another control character, which would change the file's structure"
    bad = sorted({ch for ch in text if ch in forbidden})
    if bad:
        shown = " ".join(repr(ch) for ch in bad)
        return f"it contains {shown}, which would change the file's structure"
    if strip_sensitive and text != text.strip():
        return "it starts or ends with blanks, which the file would drop"
    return ""


def check(value, *, what: str, forbidden: str = "", strip_sensitive: bool = False):
    """`value` itself, or ConfigValueRefused naming `what` and the problem."""
    found = problem(value, forbidden=forbidden, strip_sensitive=strip_sensitive)
    if found:
        raise ConfigValueRefused(f"{what} is refused: {found}.")
    return value


def problems(instance, fields, **rules) -> dict:
    """{field: message} for the instance's fields whose values `problem()` refuses (for Model.clean)."""
    errors = {}
    for name in fields:
        found = problem(getattr(instance, name), **rules)
        if found:
            errors[name] = f"Refused: {found}."
    return errors
