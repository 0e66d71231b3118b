"""What the console needs from a secret manager. AWS Secrets Manager is the first backend; Vault (hvac)
could be a second one, keeping the same staging labels as plain version metadata.

Values pass through a driver only inside the rotation steps and are never logged or returned to a caller
that stores them. Errors carry the secret's name and the manager's error code, never a value.
"""

from dataclasses import dataclass, field

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"


class ManagerError(Exception):
    """The manager refused or failed (permanent unless `transient`)."""

    transient = False


class ManagerUnavailable(ManagerError, ConnectionError):
    """The manager did not answer: retry later (a ConnectionError, so OpsTask retries it)."""

    transient = True


class SecretNotFound(ManagerError):
    pass


@dataclass
class SecretDescription:
    name: str
    arn: str
    versions: dict[str, list[str]] = field(default_factory=dict)  # version id -> staging labels
    replicas: dict[str, str] = field(default_factory=dict)  # region -> status (InSync, Failed, InProgress)

    def version_with(self, stage: str) -> str | None:
        return next((vid for vid, stages in self.versions.items() if stage in stages), None)

    @property
    def current_version_id(self):
        return self.version_with(CURRENT)

    @property
    def pending_version_id(self):
        """A version labelled AWSPENDING that is not also current: a rotation in progress."""
        vid = self.version_with(PENDING)
        return vid if vid and CURRENT not in self.versions[vid] else None


class SecretManager:
    """Base class: subclasses implement these against their backend."""

    def __init__(self, region: str | None = None):
        self.region = region or ""

    def describe(self, name: str) -> SecretDescription:
        """Metadata only (no value). Raises SecretNotFound."""
        raise NotImplementedError

    def get_value(self, name: str, *, version_id: str | None = None, stage: str | None = None) -> tuple[str, str]:
        """(value, version id) of a version, by id or by staging label."""
        raise NotImplementedError

    def put_pending(self, name: str, *, token: str, value: str) -> str:
        """A new version labelled AWSPENDING; the same token twice makes one version. Returns its id."""
        raise NotImplementedError

    def promote(self, name: str, *, version_id: str, from_version_id: str) -> None:
        """Move AWSCURRENT to `version_id` (the old current becomes AWSPREVIOUS) and drop AWSPENDING from it."""
        raise NotImplementedError

    def label(self, name: str, *, stage: str, version_id: str) -> None:
        """Attach a custom staging label to `version_id`, moving it from any other version."""
        raise NotImplementedError

    def unlabel(self, name: str, *, stage: str) -> None:
        """Remove a custom staging label from whichever version has it (nothing if none has)."""
        raise NotImplementedError

    # Provisioning, used by the tests and by whoever sets a secret up; the console's checks never call these.
    def create(self, name: str, *, value: str, replica_regions: tuple[str, ...] = ()) -> str:
        raise NotImplementedError

    def replicate(self, name: str, regions: tuple[str, ...]) -> None:
        raise NotImplementedError

    def remove_replica(self, name: str, region: str) -> None:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError
