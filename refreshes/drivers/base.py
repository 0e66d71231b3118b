import os
import subprocess

from refreshes.exceptions import RefreshError
from refreshes.pg import Dsn


class Source:
    """Copies production into an empty scratch database. Must never write to production."""

    kind = ""

    def __init__(self, production: Dsn):
        self.production = production
        # What the run records about where its copy came from (shown on the run in the admin).
        self.facts = {"kind": self.kind}

    def copy_into(self, scratch: Dsn) -> str:
        """Fill `scratch` (which exists and is empty); returns a short description of what was copied."""
        raise NotImplementedError


def dump_into(source_env: dict, scratch: Dsn, *, what: str):
    """pg_dump with `source_env` (libpq variables, read-only), streamed straight into pg_restore on `scratch`."""
    dump = subprocess.Popen(
        ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--compress=0"],
        env={**os.environ, **source_env},
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
    if dump.returncode != 0:
        raise RefreshError(f"pg_dump of {what} failed ({dump.returncode}): {dump_err[-500:]}")
    if restore.returncode != 0:
        err = restore.stderr.decode(errors="replace").strip()
        raise RefreshError(f"pg_restore into the scratch database failed ({restore.returncode}): {err[-500:]}")
