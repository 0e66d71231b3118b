import os
import subprocess
import threading

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


# The programs, named here so that a test can stand in for them.
PG_DUMP = "pg_dump"
PG_RESTORE = "pg_restore"


def _drain(stream, into: list):
    """Read a pipe to its end in a thread: a child whose stderr fills the pipe buffer would block for ever."""
    thread = threading.Thread(target=lambda: into.append(stream.read()), daemon=True)
    thread.start()
    return thread


def dump_into(source: Dsn, scratch: Dsn, *, what: str):
    """pg_dump of `source` (read-only), streamed straight into pg_restore on `scratch`.

    Both connect with `--dbname=<conninfo>`, so every libpq option of the URLs (sslmode, sslrootcert, ...) holds;
    the passwords travel in the environment. Both stderr streams are drained while the copy runs: warnings by the
    megabyte cannot fill a pipe and stall the other process.
    """
    dump_arg, dump_env = source.command_args(read_only=True)
    restore_arg, restore_env = scratch.command_args()
    dump = subprocess.Popen(
        [PG_DUMP, "--format=custom", "--no-owner", "--no-privileges", "--compress=0", dump_arg],
        env={**os.environ, **dump_env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        restore = subprocess.Popen(
            [PG_RESTORE, "--no-owner", "--no-privileges", "--exit-on-error", restore_arg],
            env={**os.environ, **restore_env},
            stdin=dump.stdout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except OSError:
        dump.kill()
        dump.wait()
        raise
    dump.stdout.close()  # pg_restore holds it now; pg_dump gets SIGPIPE if pg_restore stops reading
    dump_err, restore_err = [], []
    readers = [_drain(dump.stderr, dump_err), _drain(restore.stderr, restore_err)]
    restore.wait()
    dump.wait()
    for reader in readers:
        reader.join()
    dump.stderr.close()
    restore.stderr.close()
    if dump.returncode != 0:
        err = b"".join(dump_err).decode(errors="replace").strip()
        raise RefreshError(f"pg_dump of {what} failed ({dump.returncode}): {err[-500:]}")
    if restore.returncode != 0:
        err = b"".join(restore_err).decode(errors="replace").strip()
        raise RefreshError(f"pg_restore into the scratch database failed ({restore.returncode}): {err[-500:]}")
