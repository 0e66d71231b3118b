"""What the executor needs from a database it migrates; one subclass per kind of database."""


class TargetUnavailable(Exception):
    """The worker cannot know where the database is (its URL variable is not set)."""


class TargetError(Exception):
    """The database cannot be reached; the message says why."""


class MigrationTargetDriver:
    kind = ""

    def __init__(self, url: str, *, lock_timeout_ms: int, statement_timeout_ms: int):
        self.url = url
        self.lock_timeout_ms = int(lock_timeout_ms)
        self.statement_timeout_ms = int(statement_timeout_ms)

    def __enter__(self):
        """The block of work on a connected driver; leaving it closes the connection."""
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def connect(self) -> None:
        """Open the session; TargetError when the database cannot be reached."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def lock(self) -> None:
        """Take the database's migration lock (held until unlock or close) and make sure its ledger exists."""
        raise NotImplementedError

    def unlock(self) -> None:
        raise NotImplementedError

    def ledger(self) -> dict[str, str]:
        """identifier -> sha256 of every migration the database's own ledger says it holds."""
        raise NotImplementedError

    def apply(self, migration) -> tuple[bool, str, float]:
        """Run one migration and record it in the ledger with it: (applied, output, seconds)."""
        raise NotImplementedError
