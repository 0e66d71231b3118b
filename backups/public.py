"""The backups app's front door: what other apps may use. Nothing else is imported across apps."""

from backups.choices import RunStatus
from backups.drills import ScratchRestore
from backups.drivers.base import DriverError
from backups.models import ProtectedDatabase

__all__ = ["DriverError", "ProtectedDatabase", "RunStatus", "ScratchRestore"]
