"""Vocabulary of §8: metric categories, alert severities and statuses, and where an alert may go."""

from django.db import models


class Category(models.TextChoices):
    APPLICATION = "application", "Application"
    BUSINESS = "business", "Business"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"


class AlertSeverity(models.TextChoices):
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"
    SILENCED = "silenced", "Silenced"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


A = AlertStatus

ALERT_TRANSITIONS = {
    A.FIRING: {A.RESOLVED, A.SILENCED, A.ACKNOWLEDGED},
    A.ACKNOWLEDGED: {A.RESOLVED, A.SILENCED},
    # A silence that expires while the alert still fires: Alertmanager notifies it again.
    A.SILENCED: {A.FIRING, A.RESOLVED, A.ACKNOWLEDGED},
    # The same labels firing again later: the same fingerprint, the same row.
    A.RESOLVED: {A.FIRING},
}
ACTIVE = frozenset({A.FIRING, A.SILENCED, A.ACKNOWLEDGED})


class TargetKind(models.TextChoices):
    STOREFRONT = "storefront", "Storefront (http_request_duration_seconds)"
    HAPROXY = "haproxy", "HAProxy (built-in Prometheus endpoint)"
    NODE = "node", "Node exporter (CPU, memory, disk)"
    POSTGRES = "postgres", "PostgreSQL exporter (connections, business metrics)"
    REDIS = "redis", "Redis exporter (cache hit rate)"


class Slot(models.TextChoices):
    NONE = "", "—"
    BLUE = "blue", "Blue"
    GREEN = "green", "Green"
