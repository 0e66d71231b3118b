"""Adapters to the backup tool: kind -> driver class, imported lazily. pgBackRest is the one the console runs.

`cluster.py` (scratch clusters) and `process.py` (running binaries as the database's OS user) serve them.
"""

from core.drivers import Registry

PGBACKREST = "pgbackrest"

backup_drivers = Registry("backup", {PGBACKREST: "backups.drivers.pgbackrest.PgBackRest"})
