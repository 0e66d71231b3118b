"""How the console writes a duration and an instant, the same on every page."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone


def human_duration(value) -> str:
    """'10 ms', '4 s', '2 min 3 s', '1 h 5 min', '3 d 4 h': the two largest units a person reads at a glance.

    Accepts a timedelta or seconds; None is '—'. Negative durations keep their sign."""
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 0:
        return "-" + human_duration(-seconds)
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    whole = int(round(seconds))
    units = [("d", 86400), ("h", 3600), ("min", 60), ("s", 1)]
    parts = []
    for name, size in units:
        count, whole = divmod(whole, size)
        if count or parts:
            parts.append((count, name))
        if len(parts) == 2:
            break
    return " ".join(f"{count} {name}" for count, name in parts if count) or "0 s"


def instant(value) -> str:
    """'2026-12-01 06:26:12 UTC': the console's one way of writing a moment. None is '—'."""
    if value is None:
        return "—"
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = value.astimezone(UTC)
    return f"{value:%Y-%m-%d %H:%M:%S} UTC"


def age(since, now=None) -> str:
    """'7 min', '2 h 5 min': how long ago `since` was, for 'down for 7 min' and an incident's age."""
    if since is None:
        return "—"
    delta = (now or timezone.now()) - since
    if delta.total_seconds() < 60:
        return "less than 1 min"
    return human_duration(timedelta(seconds=int(delta.total_seconds()) // 60 * 60))
