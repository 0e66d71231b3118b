import core.status


class RefreshError(Exception):
    """A refresh or reset cannot go on; the message says why, in words an operator can act on."""


class FailClosed(RefreshError):
    """The source schema has columns nobody ruled (nothing is copied until someone does), or the copy cannot be
    made safe (a materialized view that cannot be rebuilt from the masked rows): staging stays as it was."""


class InvalidTransition(RefreshError, core.status.InvalidTransition):
    """A run asked to move where its map does not allow; nothing was changed."""


class NotAllowed(RefreshError):
    """The actor lacks the permission for this change; nothing was changed."""
