"""The retention app's front door: apps register the hourly roll-up of a table they own here (in their ready())."""

from retention.rollups import HourlyRollup, register_rollup

__all__ = ["HourlyRollup", "register_rollup"]
