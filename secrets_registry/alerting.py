"""Every alert this app raises goes through monitoring's one alerting path (monitoring.public): deduplicated
while it fires, resolved by the next green check or a mark rotated, shown on the secrets page and the alerts
list, and a critical one (a missing secret) opens an incident."""

from monitoring.public import active_alerts
from monitoring.public import raise_alert as _raise
from monitoring.public import resolve_alert as _resolve

SOURCE = "secrets_registry"


def raise_alert(*, environment, name, severity, summary, source=SOURCE, labels=None):
    return _raise(environment=environment, name=name, severity=severity, summary=summary, source=source,
                  labels=labels)  # fmt: skip


def resolve_alert(*, environment, name, labels=None):
    return _resolve(environment=environment, name=name, labels=labels)


def open_alerts(environment=None):
    """This app's alerts still active (firing, silenced or acknowledged), newest first."""
    return active_alerts(environment=environment, source=SOURCE)
