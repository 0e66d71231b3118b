from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from incidents.choices import TRANSITIONS, ActionStatus, Channel, IncidentStatus, Phase, RollbackCause, Source
from incidents.exceptions import InvalidTransition
from incidents.strategy import REPORT_FIELDS

# Each phase runs between two instants of the incident.
PHASE_SPAN = {
    Phase.DETECTION: ("started_at", "detected_at"),
    Phase.DECISION: ("detected_at", "decided_at"),
    Phase.EXECUTION: ("decided_at", "executed_at"),
    Phase.TOTAL: ("started_at", "executed_at"),
}


class Severity(models.Model):
    """A severity and its rollback time targets (§5), in minutes; a phase meets its target when shorter."""

    key = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=40)
    order = models.PositiveSmallIntegerField(help_text="1 is the most severe.")
    detection_minutes = models.PositiveIntegerField("detection target (min)")
    decision_minutes = models.PositiveIntegerField("decision target (min)")
    execution_minutes = models.PositiveIntegerField("execution target (min)")
    total_minutes = models.PositiveIntegerField("total target (min)")

    history = HistoricalRecords()

    class Meta:
        ordering = ["order"]
        verbose_name_plural = "severities"

    def __str__(self):
        return self.name

    def target(self, phase) -> timedelta:
        return timedelta(minutes=getattr(self, f"{phase}_minutes"))

    def clean(self):
        if (
            self.total_minutes is not None
            and self.execution_minutes is not None
            and self.total_minutes
            < max(self.detection_minutes or 0, self.decision_minutes or 0, self.execution_minutes)
        ):
            raise ValidationError("The total target cannot be shorter than one of its phases.")


class SeverityPolicy(models.Model):
    """Which severity an incident opened by a rollback gets, by what caused the rollback."""

    cause = models.CharField(max_length=16, choices=RollbackCause.choices, unique=True)
    severity = models.ForeignKey(Severity, on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    class Meta:
        ordering = ["cause"]
        verbose_name_plural = "severity policies"

    def __str__(self):
        return f"{self.get_cause_display()} → {self.severity}"


class Incident(models.Model):
    title = models.CharField(max_length=200)
    environment = models.ForeignKey("environments.Environment", on_delete=models.PROTECT, related_name="incidents")
    severity = models.ForeignKey(Severity, on_delete=models.PROTECT, related_name="incidents")
    status = models.CharField(max_length=20, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Gets the reminders. Defaults to whoever decided the rollback.",
    )
    # One incident per deployment, however often the rollback signal arrives.
    deployment = models.OneToOneField(
        "deployments.Deployment", null=True, blank=True, on_delete=models.PROTECT, related_name="incident"
    )
    release = models.ForeignKey(
        "deployments.Release", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cause = models.CharField(max_length=16, choices=RollbackCause.choices, blank=True)
    cause_key = models.CharField(
        max_length=120,
        blank=True,
        editable=False,
        help_text="What opened it (e.g. alert:BackupRpoBreach): one open incident per cause and environment.",
    )
    opened_by = models.CharField(max_length=8, choices=Source.choices, default=Source.PERSON)
    opened_at = models.DateTimeField(default=timezone.now)

    started_at = models.DateTimeField(
        null=True, blank=True, help_text="Impact began. From a rollback: when the release first took traffic."
    )
    detected_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True, help_text="Rollback executed: traffic restored.")
    resolved_at = models.DateTimeField(null=True, blank=True)

    # Report, Step 1: Confirm.
    error_logs = models.TextField(blank=True, help_text="Links to the logs reviewed, or excerpts.")
    affected_functionality = models.TextField(blank=True)
    customer_impact = models.TextField(blank=True)
    # Step 3: Investigate.
    root_cause = models.TextField(blank=True)
    contributing_factors = models.TextField(blank=True)
    hotfix_reference = models.CharField(max_length=300, blank=True, help_text="Pull request, commit or release.")
    # Step 4: Document.
    summary = models.TextField(blank=True)
    postmortem_at = models.DateTimeField("post-mortem date", null=True, blank=True)
    postmortem_minutes = models.PositiveSmallIntegerField("post-mortem length (min)", default=60)
    postmortem_attendees = models.TextField(blank=True, help_text="Emails, one per line or comma-separated.")
    postmortem_invited_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The status page shows these two and nothing else of the incident.
    published = models.BooleanField(default=False, help_text="Show on the public status page.")
    public_title = models.CharField(max_length=200, blank=True)
    public_summary = models.TextField(blank=True, help_text="The only text the status page shows.")

    # Reminder claims (claim-by-UPDATE): each reminder goes out once.
    report_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    postmortem_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["report_reminded_at", "postmortem_reminded_at"])

    class Meta:
        ordering = ["-opened_at"]
        permissions = [("operate_incident", "Can change incident status and schedule post-mortems")]
        constraints = [
            # Repeats of a cause join the open incident (services.open_incident); the database holds the line.
            models.UniqueConstraint(
                fields=["environment", "cause_key"],
                condition=Q(status__in=["investigating", "mitigated"]) & ~Q(cause_key=""),
                name="one_open_incident_per_cause",
            )
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    # --- Status (core.status.change_status) ---------------------------------------------------

    TRANSITIONS = TRANSITIONS
    transition_error = InvalidTransition

    def on_status_change(self, old, new):
        if new == IncidentStatus.RESOLVED and self.resolved_at is None:
            self.resolved_at = timezone.now()
            return ["resolved_at"]
        return []

    def record_status_change(self, *, old, new, actor, user, reason):
        """The timeline entry of a status change: "Mitigated → Resolved: note"."""
        labels = dict(IncidentStatus.choices)
        text = f"{labels.get(old, old)} → {labels.get(new, new)}" + (f": {reason}" if reason else "")
        source = actor or (Source.PERSON if user else Source.ENGINE)
        TimelineEntry.objects.create(incident=self, at=timezone.now(), source=source, user=user, kind="transition",
                                     text=text)  # fmt: skip

    @property
    def is_open(self):
        return self.status in {IncidentStatus.INVESTIGATING, IncidentStatus.MITIGATED}

    def duration(self, phase):
        start, end = (getattr(self, name) for name in PHASE_SPAN[phase])
        return end - start if start and end else None

    def met(self, phase):
        """True or False for a phase with both instants, None while one is missing."""
        took = self.duration(phase)
        return None if took is None else took < self.severity.target(phase)

    def compliance(self):
        return {phase: self.met(phase) for phase in Phase}

    @property
    def met_all_targets(self):
        marks = self.compliance().values()
        return None if None in marks else all(marks)

    @property
    def time_to_resolve(self):
        return self.resolved_at - self.started_at if self.resolved_at and self.started_at else None

    def missing_report_fields(self):
        return [self._meta.get_field(name).verbose_name for name in REPORT_FIELDS if not getattr(self, name).strip()]

    def attendee_emails(self):
        return [e.strip() for e in self.postmortem_attendees.replace(",", "\n").splitlines() if e.strip()]

    def clean(self):
        order = ["started_at", "detected_at", "decided_at", "executed_at", "resolved_at"]
        present = [(name, getattr(self, name)) for name in order if getattr(self, name)]
        for (a, at), (b, bt) in zip(present, present[1:], strict=False):
            if bt < at:
                raise ValidationError({b: f"{self._meta.get_field(b).verbose_name} is before {a.replace('_', ' ')}."})
        if self.published and not self.public_summary.strip():
            raise ValidationError({"public_summary": "Write the public summary before publishing."})
        from django.core.validators import validate_email

        for email in self.attendee_emails():
            try:
                validate_email(email)
            except ValidationError:
                raise ValidationError({"postmortem_attendees": f"{email!r} is not an email address."}) from None


class TimelineEntry(models.Model):
    """The incident's timeline. Append-only: a correction is a new entry (the database refuses updates too)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=20)  # transition, trigger, alert, note, correction, notification, ...
    text = models.TextField()
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")

    class Meta:
        ordering = ["at", "pk"]
        verbose_name_plural = "timeline entries"

    def __str__(self):
        return f"{self.at:%H:%M:%S} {self.kind}: {self.text[:60]}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise ValidationError("Timeline entries are never edited; add a correction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Timeline entries are never deleted; add a correction instead.")


class Stakeholder(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="stakeholders")
    email = models.EmailField()

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(fields=["incident", "email"], name="stakeholder_once")]

    def __str__(self):
        return self.email


class RunbookUpdate(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="runbook_updates")
    link = models.URLField()
    note = models.CharField(max_length=200, blank=True)
    done = models.BooleanField(default=False)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{'☑' if self.done else '☐'} {self.link}"


class ActionItem(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=200)
    owner = models.EmailField(help_text="Who does it; gets the overdue reminder.")
    due_date = models.DateField()
    status = models.CharField(max_length=10, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["due_date", "pk"]

    def __str__(self):
        return self.title

    def is_overdue(self, today=None):
        return self.status == ActionStatus.OPEN and self.due_date < (today or timezone.localdate())


class NotificationAttempt(models.Model):
    """One try at delivering one notification; failures land here and never in the incident flow."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notifications")
    at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    event = models.CharField(max_length=40)
    recipients = models.TextField(blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    final = models.BooleanField(default=False, help_text="No retry follows this attempt.")

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.channel} {self.event} #{self.attempt}: {'sent' if self.ok else self.error[:60]}"


CONTACT_TWICE = "An incident contact with this address already exists for this environment and severity."


class Contact(models.Model):
    """Who is told of an environment's incidents: added as a stakeholder to each new incident of that
    environment at that severity (or at any severity when none is set), beside OPS_INCIDENT_STAKEHOLDERS.
    Seeded with each environment's on-call address (an .invalid one: the README says to change it)."""

    class Role(models.TextChoices):
        ONCALL = "oncall", "On-call"
        STAKEHOLDER = "stakeholder", "Stakeholder"

    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE, related_name="+")
    severity = models.ForeignKey(
        Severity, null=True, blank=True, on_delete=models.CASCADE, related_name="+", help_text="Blank: every severity."
    )
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAKEHOLDER)

    history = HistoricalRecords()

    class Meta:
        ordering = ["environment__order", "severity__order", "email"]
        verbose_name = "incident contact"
        # Once per environment and severity, "every severity" (NULL) included: two partial unique indexes rather
        # than nulls_distinct=False, which SQLite (the embedded default of `make run`) cannot build (W047).
        constraints = [
            models.UniqueConstraint(fields=["environment", "severity", "email"], name="contact_once",
                                    condition=Q(severity__isnull=False), violation_error_message=CONTACT_TWICE),
            models.UniqueConstraint(fields=["environment", "email"], name="contact_once_every_severity",
                                    condition=Q(severity__isnull=True), violation_error_message=CONTACT_TWICE),
        ]  # fmt: skip

    def __str__(self):
        return f"{self.email} ({self.get_role_display()}, {self.environment}, {self.severity or 'every severity'})"
