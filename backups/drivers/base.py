"""What the backups app needs from a backup tool; one subclass per tool (pgBackRest today)."""


class DriverError(Exception):
    """The backup tool refused or failed; `permanent` False when a retry later may work."""

    def __init__(self, message, *, permanent=True, code=None):
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class BackupDriver:
    """Backs up and restores one protected database (its stanza configuration `cfg`) to its repositories."""

    kind = ""

    def __init__(self, cfg, *, binary: str, timeout: float | None = None):
        self.cfg = cfg
        self.binary = binary
        self.timeout = timeout

    def write_config(self) -> str:
        """Write the tool's configuration from the model; returns its path."""
        raise NotImplementedError

    def stanza_create(self):
        raise NotImplementedError

    def check(self):
        raise NotImplementedError

    def backup(self, backup_type: str, repo: int, *, on_tick=None):
        raise NotImplementedError

    def info(self) -> dict:
        raise NotImplementedError

    def backups(self, repo: int | None = None) -> list[dict]:
        raise NotImplementedError

    def verify(self, repo: int) -> tuple[bool, str]:
        """(ok, report) for one repository."""
        raise NotImplementedError

    def expire(self):
        raise NotImplementedError

    def restore(self, repo, target_directory, *, target_time=None, backup_set=None, only_databases=()) -> str:
        """Restore into `target_directory` (never the live one); returns the backup set used."""
        raise NotImplementedError
