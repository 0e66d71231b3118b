"""Vocabulary of §5 incident reports: statuses and their allowed transitions, sources, phases."""

from django.db import models


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    MITIGATED = "mitigated", "Mitigated"
    RESOLVED = "resolved", "Resolved"
    POSTMORTEM_DONE = "postmortem_done", "Post-mortem done"


S = IncidentStatus

# Where an incident may go from each status. Anything else is refused.
TRANSITIONS = {
    S.INVESTIGATING: {S.MITIGATED, S.RESOLVED},
    S.MITIGATED: {S.RESOLVED},
    S.RESOLVED: {S.POSTMORTEM_DONE},
    S.POSTMORTEM_DONE: set(),
}
OPEN = frozenset({S.INVESTIGATING, S.MITIGATED})


class Source(models.TextChoices):
    ENGINE = "engine", "Engine"
    ALERT = "alert", "Alert"
    PERSON = "person", "Person"


class RollbackCause(models.TextChoices):
    """What a severity policy maps from: the trigger of an automatic rollback, or a person's decision."""

    ERROR_RATE = "error_rate", "Automatic: 5xx error rate"
    P95_LATENCY = "p95_latency", "Automatic: p95 response time"
    HEALTH_CHECK = "health_check", "Automatic: health-check failures"
    ENGINE = "engine", "Automatic: engine silent (reconcile)"
    MANUAL = "manual", "Manual: roll back now"


class Phase(models.TextChoices):
    DETECTION = "detection", "Detection"
    DECISION = "decision", "Decision"
    EXECUTION = "execution", "Execution"
    TOTAL = "total", "Total"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
