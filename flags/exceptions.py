from core.status import InvalidTransition as StatusRefused


class FlagError(Exception):
    """A change that breaks a rule; its message is written for the operator who asked for it."""


class NotAllowed(FlagError):
    """The actor lacks the permission, or is the requester trying to approve their own change."""


class InvalidTransition(FlagError, StatusRefused):
    """The change request or scheduled change is no longer in a state that allows this."""
