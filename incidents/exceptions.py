class IncidentRefused(Exception):
    """A request the incident rules refuse; the message says why and nothing was changed."""


class InvalidTransition(IncidentRefused):
    pass
