"""The backups app's front door: what other apps may use. Nothing else is imported across apps."""

from backups.choices import RunStatus
from backups.drills import ScratchRestore
from backups.engine.pgbackrest import EngineError
from backups.models import ProtectedDatabase

__all__ = ["EngineError", "ProtectedDatabase", "RunStatus", "ScratchRestore"]
