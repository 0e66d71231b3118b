from core.status import InvalidTransition as StatusRefused


class IncidentRefused(Exception):
    """A request the incident rules refuse; the message says why and nothing was changed."""


class InvalidTransition(IncidentRefused, StatusRefused):
    """A status change outside the incident's map (incidents.choices.TRANSITIONS)."""
