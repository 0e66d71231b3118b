"""The audit app's front door: what other apps may use. Nothing else is imported across apps."""

from audit.recorder import write as record

__all__ = ["record"]
