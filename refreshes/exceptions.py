class RefreshError(Exception):
    """A refresh or reset cannot go on; the message says why, in words an operator can act on."""


class FailClosed(RefreshError):
    """The source schema has columns nobody ruled: nothing is copied until someone does."""
