"""The incidents app's front door: what other apps may use. Nothing else is imported across apps."""

from incidents.models import Incident, Severity
from incidents.services import add_entry, open_incident

__all__ = ["Incident", "Severity", "add_entry", "open_incident"]
