"""How durations, instants and ages read: plain functions, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from core.formatting import age, human_duration, instant


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(microseconds=10_695), "11 ms"),  # was "0:00:00.010695"
        (timedelta(seconds=4), "4 s"),
        (timedelta(seconds=2.5), "2.5 s"),
        (timedelta(seconds=123), "2 min 3 s"),
        (timedelta(minutes=7), "7 min"),
        (timedelta(hours=1, minutes=5, seconds=9), "1 h 5 min"),
        (timedelta(days=3, hours=4, minutes=2), "3 d 4 h"),
        (0.010695, "11 ms"),
        (None, "—"),
    ],
)
def test_human_duration(value, text):
    assert human_duration(value) == text


def test_instant__one_format_in_utc():
    from zoneinfo import ZoneInfo

    paris = datetime(2026, 12, 1, 7, 30, 5, tzinfo=ZoneInfo("Europe/Paris"))
    assert instant(paris) == "2026-12-01 06:30:05 UTC" and instant(None) == "—"


def test_age__whole_minutes_since_a_moment():
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert age(now - timedelta(minutes=7, seconds=40), now) == "7 min"
    assert age(now - timedelta(seconds=20), now) == "less than 1 min"
