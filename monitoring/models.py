import math
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core import config_values
from monitoring.choices import ALERT_TRANSITIONS, AlertSeverity, AlertStatus, Category, Slot, TargetKind
from monitoring.exceptions import AlertInvalidTransition

DURATION = re.compile(r"^[1-9][0-9]*(ms|s|m|h|d)$")
ADDRESS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*:[0-9]{1,5}$")
METRICS_PATH = re.compile(r"^/[A-Za-z0-9._~/\-]*$")


def structural_problem(value: str) -> str:
    """Why `value` cannot go into generated configuration, or '' when it can (the console-wide rule)."""
    return config_values.problem(value)


class Metric(models.Model):
    """One metric of §8, with the PromQL every consumer uses (charts, alert rules, deployment triggers)."""

    key = models.SlugField(max_length=40, unique=True, help_text="Also the recorded series: amarise:<key>.")
    name = models.CharField(max_length=80)
    category = models.CharField(max_length=16, choices=Category.choices)
    unit = models.CharField(max_length=20)
    per_slot = models.BooleanField(default=False, help_text="Can be read for one blue/green slot.")
    promql = models.TextField(
        "PromQL",
        help_text="Template: $labels (environment, slot matchers), $by (labels kept), $window (rate window).",
    )
    window = models.CharField(max_length=10, default="5m", help_text="Rate window, e.g. 5m.")
    order = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "key"]

    def __str__(self):
        return self.name

    @property
    def record(self):
        return f"amarise:{self.key}"

    @property
    def alert_name(self):
        return "".join(part.capitalize() for part in self.key.split("_"))

    def query(self, *, environment: str | None = None, slot: str | None = None, window: str | None = None) -> str:
        """The PromQL for one environment (and slot), or for all environments when none is given; `window`
        replaces the metric's rate window (a deployment trigger's own window, same expression)."""
        matchers = [f'environment="{environment}"' if environment else 'environment!=""']
        by = ["environment"]
        if slot:
            matchers.append(f'slot="{slot}"')
            by.append("slot")
        return (
            self.promql.replace("$labels", ",".join(matchers))
            .replace("$by", ", ".join(by))
            .replace("$window", window or self.window)
        )

    def clean(self):
        errors = {}
        for name in ("promql", "unit", "name", "window"):
            problem = structural_problem(getattr(self, name))
            if problem:
                errors[name] = f"Refused: {problem}."
        if "promql" not in errors and "$labels" not in self.promql:
            errors["promql"] = "The PromQL must select by environment: put $labels in its label matchers."
        if "window" not in errors and not DURATION.match(self.window or ""):
            errors["window"] = "Use a Prometheus duration such as 30s, 5m or 1h."
        if errors:
            raise ValidationError(errors)


class Threshold(models.Model):
    """The §8 alerting thresholds of one metric in one environment: alert when the value is above them."""

    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE, related_name="+")
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="thresholds")
    warning = models.FloatField(help_text="Warn above this value (in the metric's unit).")
    critical = models.FloatField(help_text="Critical above this value.")
    for_seconds = models.PositiveIntegerField(
        "for (seconds)", default=300, help_text="How long the value must stay above before the alert fires."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["environment__order", "metric__order"]
        constraints = [models.UniqueConstraint(fields=["environment", "metric"], name="threshold_once_per_metric")]

    def __str__(self):
        return f"{self.metric} on {self.environment}"

    def clean(self):
        errors = {}
        for name in ("warning", "critical"):
            value = getattr(self, name)
            if value is None or not isinstance(value, int | float) or not math.isfinite(value):
                errors[name] = f"The {name} threshold must be a number, not {value!r}."
        if not errors and self.warning > self.critical:
            errors["warning"] = (
                f"Warning ({self.warning:g}) is beyond critical ({self.critical:g}): it must be at most critical."
            )
        if self.for_seconds is not None and self.for_seconds > 24 * 3600:
            errors["for_seconds"] = "At most a day (86400 seconds)."
        if errors:
            raise ValidationError(errors)


class ScrapeTarget(models.Model):
    """Where Prometheus scrapes an environment's numbers: the storefront, HAProxy and the exporters."""

    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=TargetKind.choices)
    address = models.CharField(max_length=200, help_text="host:port")
    metrics_path = models.CharField(max_length=200, default="/metrics")
    slot = models.CharField(max_length=8, choices=Slot.choices, blank=True, default="")
    enabled = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["environment__order", "kind", "address"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "kind", "address"], name="scrape_target_once"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.address} ({self.environment})"

    def clean(self):
        errors = {}
        if not ADDRESS.match(self.address or ""):
            errors["address"] = "Use host:port (letters, digits, dots and dashes; no scheme, no spaces)."
        if not METRICS_PATH.match(self.metrics_path or ""):
            errors["metrics_path"] = "Use a path such as /metrics (no spaces, quotes or newlines)."
        if errors:
            raise ValidationError(errors)


class OnCall(models.Model):
    """An environment's on-call channel: warnings go here only; critical alerts also open an incident."""

    environment = models.OneToOneField("environments.Environment", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(help_text="Seeded to an .invalid address: change it to your on-call list.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["environment__order"]
        verbose_name = "on-call channel"

    def __str__(self):
        return f"{self.environment}: {self.email}"

    def clean(self):
        problem = structural_problem(self.email)
        if problem:
            raise ValidationError({"email": f"Refused: {problem}."})


class Alert(models.Model):
    """One alert as Alertmanager identifies it (its fingerprint), or one of the console's own checks."""

    TRANSITIONS = ALERT_TRANSITIONS
    transition_error = AlertInvalidTransition

    fingerprint = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    # Few indexes: a webhook may insert a thousand rows at once (the composite ones below serve the lookups).
    environment = models.ForeignKey(
        "environments.Environment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    severity = models.CharField(max_length=16, choices=AlertSeverity.choices)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.FIRING)
    labels = models.JSONField(default=dict)
    summary = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=40, default="alertmanager", help_text="alertmanager, or the console check.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    silence = models.ForeignKey(
        "Silence", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts", db_index=False
    )

    class Meta:
        ordering = ["-starts_at", "-pk"]
        indexes = [
            models.Index(fields=["environment", "status"], name="alert_env_status"),
            models.Index(fields=["environment", "name"], name="alert_env_name"),
        ]
        permissions = [("operate_alert", "Can acknowledge and silence alerts")]

    def __str__(self):
        where = f" on {self.environment}" if self.environment_id else ""
        return f"{self.name}{where} ({self.severity})"

    def on_status_change(self, old, new):
        self.updated_at = timezone.now()
        return ["updated_at"]

    def record_status_change(self, *, old, new, actor, user, reason):
        AlertEvent.objects.create(alert=self, old_status=old, new_status=new, actor=actor, user=user, reason=reason)


class AlertEvent(models.Model):
    """An alert's history: each status change, who or what made it, and why. Append-only."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    old_status = models.CharField(max_length=16, blank=True)
    new_status = models.CharField(max_length=16)
    actor = models.CharField(max_length=40, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.old_status or '∅'} → {self.new_status}"


class Silence(models.Model):
    """A silence in Alertmanager (API v2), made from the console or outside it (amtool, its UI, its API):
    who, until when, why."""

    alertmanager_id = models.CharField(max_length=64, unique=True)
    author = models.CharField(max_length=200, blank=True, help_text="Alertmanager's createdBy.")
    environment = models.ForeignKey(
        "environments.Environment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    matchers = models.JSONField(default=list)
    comment = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    expired_at = models.DateTimeField(null=True, blank=True)
    expired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self):
        return f"Silence {self.alertmanager_id[:8]} until {self.ends_at:%Y-%m-%d %H:%M}"

    @property
    def active(self):
        return self.expired_at is None and self.ends_at > timezone.now()

    @property
    def who(self):
        return self.author or (self.created_by.username if self.created_by_id else "?")


class AlertNotification(models.Model):
    """One try at telling an environment's on-call about alerts; failures are retried and stay visible."""

    at = models.DateTimeField(default=timezone.now)
    environment = models.ForeignKey(
        "environments.Environment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    alerts = models.ManyToManyField(Alert, related_name="notifications")
    event = models.CharField(max_length=16)  # firing, resolved
    channel = models.CharField(max_length=8, default="email")
    recipients = models.TextField(blank=True)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    attempts = models.PositiveSmallIntegerField(default=0)
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    final = models.BooleanField(default=False, help_text="No retry follows.")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        state = "sent" if self.ok else ("failed" if self.final else "pending")
        return f"{self.event} → {self.recipients or 'nobody'}: {state}"
