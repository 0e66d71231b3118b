"""Hourly roll-ups, one registry style as core.drivers: each app registers, for its raw table's label, the dotted
path of an adapter it owns (backups.rollups.RpoCheckRollup); retention imports it only when a prune needs it.

An adapter names its hourly model and writes the hours in [start, end) from the raw rows with one GROUP BY,
upserting (series, hour) rows: rolling an hour twice from the same rows writes the same numbers.
"""

from datetime import datetime

from core.drivers import Registry

ROLLUPS = Registry("roll-up")


class HourlyRollup:
    """The adapter an app subclasses: `hourly` is the roll-up model's label, `hour_field` its hour column."""

    hourly: str = ""
    hour_field = "hour"

    def roll(self, start: datetime, end: datetime) -> int:
        """Upsert the hourly rows for raw rows aged in [start, end) (whole hours); returns how many were written."""
        raise NotImplementedError


def register_rollup(table: str, path: str) -> None:
    """An app's ready(): `register_rollup("backups.RpoCheck", "backups.rollups.RpoCheckRollup")`."""
    ROLLUPS.register(table, path)


def rollup_for(table: str) -> HourlyRollup | None:
    return ROLLUPS.get(table)() if table in ROLLUPS else None


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)
