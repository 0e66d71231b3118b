"""Synthetic journeys per environment, their runs, performance readings and release notifications."""

from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from core import config_values

# A journey's results are seen on the deployment page and by the alert; keep its output short.
DETAIL_LIMIT = 1000


class SyntheticJourney(models.Model):
    """A key user journey (§4 "Verify key user journeys"), run against the live slot after each release."""

    policy = models.ForeignKey("deployments.DeploymentPolicy", on_delete=models.CASCADE, related_name="journeys")
    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["policy", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["policy", "name"], name="journey_unique_name")]

    def __str__(self):
        return self.name


class JourneyStep(models.Model):
    class Method(models.TextChoices):
        GET = "GET", "GET"
        POST = "POST", "POST (form)"

    journey = models.ForeignKey(SyntheticJourney, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    method = models.CharField(max_length=4, choices=Method.choices, default=Method.GET)
    path = models.CharField(max_length=300, help_text="From the slot's root, e.g. /products/silk-scarf?sandbox=1.")
    form = models.CharField(
        max_length=500, blank=True, help_text="POST form fields, URL-encoded: product=silk-scarf&quantity=1."
    )
    expected_status = models.PositiveSmallIntegerField(default=200)
    body_contains = models.CharField("body text expected", max_length=200, blank=True)

    class Meta:
        ordering = ["journey", "order"]
        constraints = [models.UniqueConstraint(fields=["journey", "order"], name="journey_step_unique_order")]

    def __str__(self):
        return f"{self.method} {self.path} → {self.expected_status}"

    def clean(self):
        errors = config_values.problems(self, ["path", "form", "body_contains", "name"])
        if "path" not in errors and not self.path.startswith("/"):
            errors["path"] = "Start the path with /: steps run against the live slot's address."
        if "form" not in errors and self.form:
            if self.method != self.Method.POST:
                errors["form"] = "Only a POST step sends form fields."
            else:
                try:
                    parse_qsl(self.form, keep_blank_values=True, strict_parsing=True)
                except ValueError:
                    errors["form"] = "Write the fields URL-encoded: name=value&other=value."
        if not 100 <= self.expected_status <= 599:
            errors["expected_status"] = "An HTTP status, 100 to 599."
        if errors:
            raise ValidationError(errors)

    def form_fields(self):
        return parse_qsl(self.form, keep_blank_values=True) if self.form else []


class JourneyRun(models.Model):
    """One run of one journey against one deployment's live slot; a failed run may be kept by a person."""

    deployment = models.ForeignKey("deployments.Deployment", on_delete=models.CASCADE, related_name="journey_runs")
    journey = models.ForeignKey(SyntheticJourney, null=True, on_delete=models.SET_NULL, related_name="runs")
    journey_name = models.CharField(max_length=100)  # kept if the journey is later deleted
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    passed = models.BooleanField()
    failing_step = models.CharField(max_length=100, blank=True)
    detail = models.TextField(blank=True)
    # In production a failure asks for a decision: switch back (the bake period's button) or keep the release.
    kept_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    kept_at = models.DateTimeField(null=True, blank=True)
    keep_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["deployment", "-started_at"], name="journey_run_latest")]

    def __str__(self):
        return f"{self.journey_name}: {'passed' if self.passed else f'failed at {self.failing_step}'}"


class PerformanceReading(models.Model):
    """The new slot since 100% beside the previous release's last hour, and the verdict against the triggers."""

    deployment = models.ForeignKey("deployments.Deployment", on_delete=models.CASCADE, related_name="performance")
    taken_at = models.DateTimeField()
    source = models.CharField(max_length=100)
    new_error_rate = models.FloatField(null=True, blank=True)
    new_p95 = models.FloatField(null=True, blank=True)
    new_requests = models.BigIntegerField(null=True, blank=True)
    previous_error_rate = models.FloatField(null=True, blank=True)
    previous_p95 = models.FloatField(null=True, blank=True)
    previous_requests = models.BigIntegerField(null=True, blank=True)
    error_threshold = models.FloatField(null=True, blank=True)
    p95_threshold = models.FloatField(null=True, blank=True)
    passed = models.BooleanField()
    detail = models.CharField(max_length=500)

    class Meta:
        ordering = ["-taken_at", "-pk"]

    def __str__(self):
        return f"{self.taken_at:%H:%M:%S} {'passed' if self.passed else 'not passed'}: {self.detail[:60]}"


class ReleaseNotification(models.Model):
    """The release notice to stakeholders on one channel; retried, and a failure stays shown here."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Signed webhook"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (retries exhausted)"

    deployment = models.ForeignKey(
        "deployments.Deployment", on_delete=models.CASCADE, related_name="release_notifications"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    outcome = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["channel"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "channel"], name="release_notification_once"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()}: {self.get_state_display().lower()}"
