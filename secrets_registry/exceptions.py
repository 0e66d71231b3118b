from core.status import InvalidTransition


class SecretsError(Exception):
    """Bad input or a refused operation; the message is for the operator and never quotes a value."""


class RotationRefused(SecretsError):
    pass


class RunTransitionError(InvalidTransition, SecretsError):
    pass
