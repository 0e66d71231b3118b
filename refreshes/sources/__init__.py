"""Where a staging refresh gets its copy of production: kind -> driver class, imported lazily.

`backup_restore` restores production's latest backup (the backups app) and copies from that;
`pg_dump` dumps production itself. A new driver only needs to implement `Source.copy_into`.
"""

from importlib import import_module

from refreshes.exceptions import RefreshError

SOURCES = {
    "backup_restore": "refreshes.sources.backup_restore.BackupRestoreSource",
    "pg_dump": "refreshes.sources.pg_dump.PgDumpSource",
}


def get_source(kind: str):
    path = SOURCES.get(kind)
    if path is None:
        raise RefreshError(f"unknown refresh source {kind!r}; known: {', '.join(sorted(SOURCES))}")
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)
