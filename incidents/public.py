"""The incidents app's front door: what other apps may use. Nothing else is imported across apps."""

from incidents.conf import webhook_secret, webhook_url
from incidents.models import Incident, Severity
from incidents.notify import SIGNATURE_HEADER, sign
from incidents.services import add_entry, open_incident

__all__ = [
    "SIGNATURE_HEADER",
    "Incident",
    "Severity",
    "add_entry",
    "open_incident",
    "sign",
    "webhook_secret",
    "webhook_url",
]
