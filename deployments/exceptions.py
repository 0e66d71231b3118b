class DeploymentRefused(Exception):
    """A request that breaks a rule: the message says which, and nothing was changed."""


class InvalidTransition(DeploymentRefused):
    pass


class DriverError(Exception):
    """An external system failed. `permanent` errors are not retried."""

    def __init__(self, message, *, permanent=False):
        super().__init__(message)
        self.permanent = permanent
