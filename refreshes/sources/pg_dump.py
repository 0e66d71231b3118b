import os
import subprocess

from refreshes.exceptions import RefreshError
from refreshes.pg import Dsn
from refreshes.sources.base import Source


class PgDumpSource(Source):
    """pg_dump of production, read-only, streamed straight into pg_restore on the scratch database."""

    kind = "pg_dump"

    def copy_into(self, scratch: Dsn) -> str:
        dump = subprocess.Popen(
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--compress=0"],
            # default_transaction_read_only: the dump cannot write to production even by mistake.
            env={**os.environ, **self.production.libpq_env(read_only=True)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        restore = subprocess.run(
            ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", scratch.dbname],
            env={**os.environ, **scratch.libpq_env()},
            stdin=dump.stdout,
            capture_output=True,
        )
        dump.stdout.close()
        dump_err = dump.stderr.read().decode(errors="replace").strip()
        dump.wait()
        if restore.returncode != 0:
            err = restore.stderr.decode(errors="replace").strip()
            raise RefreshError(f"pg_restore into the scratch database failed ({restore.returncode}): {err[-500:]}")
        if dump.returncode != 0:
            raise RefreshError(f"pg_dump of production failed ({dump.returncode}): {dump_err[-500:]}")
        return f"pg_dump of {self.production} restored into {scratch.dbname}"
