import core.status


class BackupError(Exception):
    """A rule of this app refused the request; the message is for the operator."""


class BackupRefused(BackupError):
    pass


class InvalidTransition(BackupError, core.status.InvalidTransition):
    """A run or drill asked to move where its map does not allow; nothing was changed."""
