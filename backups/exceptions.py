class BackupError(Exception):
    """A rule of this app refused the request; the message is for the operator."""


class BackupRefused(BackupError):
    pass


class InvalidTransition(BackupError):
    pass
