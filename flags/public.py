"""The flags app's front door: what other apps may use. Nothing else is imported across apps."""

from flags import is_enabled

__all__ = ["is_enabled"]
