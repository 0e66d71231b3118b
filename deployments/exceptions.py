from core.status import InvalidTransition as StatusRefused


class DeploymentRefused(Exception):
    """A request that breaks a rule: the message says which, and nothing was changed."""


class NotAllowed(DeploymentRefused):
    """The person (or token's user) lacks the permission, or is the requester trying to approve."""


class InvalidTransition(DeploymentRefused, StatusRefused):
    """A status change outside the deployment's map (deployments.choices.TRANSITIONS)."""


class DriverError(Exception):
    """An external system failed. `permanent` errors are not retried."""

    def __init__(self, message, *, permanent=False):
        super().__init__(message)
        self.permanent = permanent
