"""Where a staging refresh gets its copy of production: one driver per source kind, imported lazily.

`backup_restore` restores production's latest backup (the backups app) and copies from that;
`pg_dump` dumps production itself. A new driver subclasses `base.Source` and implements `copy_into`.
The kinds are stored on each data target (DataTarget.source_kind): keep them stable.
"""

from core.drivers import Registry, UnknownDriver
from refreshes.exceptions import RefreshError

sources = Registry(
    "refresh source",
    {
        "backup_restore": "refreshes.drivers.backup_restore.BackupRestoreSource",
        "pg_dump": "refreshes.drivers.pg_dump.PgDumpSource",
    },
)


def get_source(kind: str):
    """The driver class of `kind`; an unknown kind is a RefreshError naming the known ones."""
    try:
        return sources.get(kind)
    except UnknownDriver as exc:
        raise RefreshError(str(exc)) from None
