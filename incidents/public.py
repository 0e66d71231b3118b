"""The incidents app's front door: what other apps may use. Nothing else is imported across apps.

`open_incident` is the one way an incident is opened, whoever opens it (a person in the admin, the
engine after a rollback, another app such as backups); it refuses with IncidentRefused.
"""

from incidents.conf import webhook_secret, webhook_url
from incidents.exceptions import IncidentRefused
from incidents.models import Incident, Severity
from incidents.notify import SIGNATURE_HEADER, sign
from incidents.services import add_entry, open_incident

__all__ = [
    "SIGNATURE_HEADER",
    "Incident",
    "IncidentRefused",
    "Severity",
    "add_entry",
    "open_incident",
    "sign",
    "webhook_secret",
    "webhook_url",
]
