"""The retention app's front door: nothing is exported yet (it reaches other apps' tables by model label)."""

__all__ = []
