"""Where a staging refresh gets its copy of production: kind -> driver class, imported lazily.

`pg_dump` is the source until the backups app lands; a `backup_restore` driver restoring the latest
backup only needs to implement `Source.copy_into`.
"""

from importlib import import_module

from refreshes.exceptions import RefreshError

SOURCES = {
    "pg_dump": "refreshes.sources.pg_dump.PgDumpSource",
}


def get_source(kind: str):
    path = SOURCES.get(kind)
    if path is None:
        raise RefreshError(f"unknown refresh source {kind!r}; known: {', '.join(sorted(SOURCES))}")
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)
