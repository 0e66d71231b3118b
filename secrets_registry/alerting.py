"""Every alert this app raises goes through these two functions.

They have the signatures of the monitoring app's `monitoring.public.raise_alert` / `resolve_alert`, which is
being built in parallel: until it merges, an alert is a SecretAlert row here (shown red on the secrets page
and the dashboard card). At merge, these two bodies become calls into monitoring.public.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from secrets_registry.models import SecretAlert


def raise_alert(*, environment, name, severity, summary, source, labels=None):
    """Open the alert, or refresh the summary of the one already open for these labels."""
    labels = labels or {}
    open_alert = SecretAlert.objects.filter(environment=environment, name=name, labels=labels,
                                            resolved_at__isnull=True).first()  # fmt: skip
    if open_alert is not None:
        if (open_alert.summary, open_alert.severity) != (summary[:500], severity):
            open_alert.summary, open_alert.severity = summary[:500], severity
            open_alert.save(update_fields=["summary", "severity"])
        return open_alert
    try:
        with transaction.atomic():
            return SecretAlert.objects.create(environment=environment, name=name, severity=severity,
                                              summary=summary[:500], source=source, labels=labels)  # fmt: skip
    except IntegrityError:  # raised at the same moment by another check
        return SecretAlert.objects.get(environment=environment, name=name, labels=labels, resolved_at__isnull=True)


def resolve_alert(*, environment, name, labels=None):
    return SecretAlert.objects.filter(environment=environment, name=name, labels=labels or {},
                                      resolved_at__isnull=True).update(resolved_at=timezone.now())  # fmt: skip


def open_alerts(environment=None):
    alerts = SecretAlert.objects.filter(resolved_at__isnull=True).select_related("environment")
    return alerts.filter(environment=environment) if environment is not None else alerts
