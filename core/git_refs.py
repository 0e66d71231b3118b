"""Git's rules for ref names (`git check-ref-format --allow-onelevel`), for release versions and refs.

A release's version and ref travel into commands, URLs and deploy scripts; holding them to git's rules keeps
out blanks, control characters and the sequences git itself gives meaning to (`..`, `@{`, `~`, `^`, `:`).
"""

_FORBIDDEN = set(" ~^:?*[\\")


def ref_problem(name: str) -> str:
    """Why git would refuse `name` as a ref name, or '' when it would accept it (tested against git itself)."""
    if not isinstance(name, str) or not name:
        return "it is empty"
    if name == "@":
        return "it is the single character @"
    if name.startswith("-"):  # git refuses it as a branch name; to a deploy script it would be an option
        return "it starts with a dash"
    for ch in name:
        if ord(ch) < 0o40 or ord(ch) == 0o177:
            return "it contains a control character"
        if ch in _FORBIDDEN:
            return f"it contains {ch!r}"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "it starts or ends with a slash, or has two slashes in a row"
    if name.endswith("."):
        return "it ends with a dot"
    if ".." in name:
        return "it contains two dots in a row"
    if "@{" in name:
        return "it contains @{"
    for component in name.split("/"):
        if component.startswith("."):
            return "a part of it starts with a dot"
        if component.endswith(".lock"):
            return "a part of it ends with .lock"
    return ""
