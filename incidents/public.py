"""The incidents app's front door: what other apps may use. Nothing else is imported across apps.

`open_incident` is the one way an incident is opened, whoever opens it: its `source` (a `Source`) says a
person (the admin), the engine (after a rollback) or an alert (monitoring's one alerting path) opened it.
It refuses with IncidentRefused. With a `cause_key` a repeat joins the open incident of that cause and
environment (its timeline gets the repeat) instead of opening a second; `open_or_join_incident` also says which.

`send_release_email(subject=, text=)` and `post_release_webhook(payload)`: a release notice through the incidents
channels (the stakeholders' email list, the signed webhook); they raise on failure, so the caller retries.

The services and the notifications load on first use (module __getattr__), not when another app's admin imports
this module at start-up (tests/test_startup.py).
"""

from typing import TYPE_CHECKING

from incidents.choices import Source
from incidents.conf import webhook_secret, webhook_url
from incidents.exceptions import IncidentRefused
from incidents.models import Incident, Severity

if TYPE_CHECKING:
    from incidents.notify import SIGNATURE_HEADER, post_release_webhook, send_release_email, sign
    from incidents.services import add_entry, open_incident, open_or_join_incident

_NOTIFY = {"SIGNATURE_HEADER", "post_release_webhook", "send_release_email", "sign"}
_SERVICES = {"add_entry", "open_incident", "open_or_join_incident"}


def __getattr__(name):
    if name in _NOTIFY:
        from incidents import notify

        return getattr(notify, name)
    if name in _SERVICES:
        from incidents import services

        return getattr(services, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SIGNATURE_HEADER",
    "Incident",
    "IncidentRefused",
    "Severity",
    "Source",
    "add_entry",
    "open_incident",
    "open_or_join_incident",
    "post_release_webhook",
    "send_release_email",
    "sign",
    "webhook_secret",
    "webhook_url",
]
