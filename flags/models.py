from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from flags.choices import (
    CHANGE_REQUEST_TRANSITIONS,
    SCHEDULED_CHANGE_TRANSITIONS,
    Category,
    ChangeKind,
    ChangeRequestStatus,
    Kind,
    ScheduledChangeStatus,
)
from flags.exceptions import InvalidTransition

# Keys are the storefront's identifiers, written exactly as in the strategy's FeatureFlags interface.
flag_key_validator = RegexValidator(
    r"^[a-z][A-Za-z0-9]*$", "Use camelCase as the storefront does, e.g. checkoutEnabled."
)


class Flag(models.Model):
    """A feature flag of the storefront (§3); its value lives per environment in FlagState."""

    key = models.CharField(max_length=64, unique=True, validators=[flag_key_validator])
    category = models.CharField(max_length=16, choices=Category.choices)
    description = models.CharField(max_length=200, blank=True)
    owner = models.CharField(max_length=100, blank=True, help_text="Team or person who decides this flag.")
    kind = models.CharField(
        max_length=16, choices=Kind.choices, default=Kind.RELEASE, help_text="Lifecycle: kill switches never go stale."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["category", "key"]

    def __str__(self):
        return self.key


class FlagState(models.Model):
    """A flag's value in one environment: one cell of the strategy's table."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="states")
    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE, related_name="flag_states")
    enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    # Who, when, old and new value and the reason of every change; history_change_reason holds the reason.
    history = HistoricalRecords()

    class Meta:
        ordering = ["flag__key", "environment__order"]
        constraints = [
            models.UniqueConstraint(fields=["flag", "environment"], name="flag_state_unique_per_environment")
        ]
        permissions = [("change_production_flags", "Can change flag values in production")]

    def __str__(self):
        return f"{self.flag.key} in {self.environment.key}: {'on' if self.enabled else 'off'}"


class HistoryEvents:
    """A status change's event row is the row's history record (django-simple-history).

    core.status.change_status saves the row and then calls record_status_change: the save writes no
    history record of its own, and record_status_change writes the one record, with who and why.
    """

    def on_status_change(self, old, new):
        self.skip_history_when_saving = True
        return ()

    def record_status_change(self, *, old, new, actor, user, reason):
        self.__dict__.pop("skip_history_when_saving", None)
        if user is not None:
            self._history_user = user
        self._change_reason = (reason or str(new))[:100]
        type(self).history.bulk_history_create([self], update=True)


class ChangeRequest(HistoryEvents, models.Model):
    """A production change waiting for a second person's approval (§3's guarded production)."""

    # Kept when the flag goes (an approved deletion): the request is the record of who asked and who approved.
    state = models.ForeignKey(
        FlagState, on_delete=models.SET_NULL, null=True, blank=True, related_name="change_requests"
    )
    flag_key = models.CharField(max_length=64, blank=True, help_text="The flag's key, kept after a deletion.")
    kind = models.CharField(max_length=8, choices=ChangeKind.choices, default=ChangeKind.SET)
    enabled = models.BooleanField(help_text="The value requested (a deletion keeps the value it found).")
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=ChangeRequestStatus.choices, default=ChangeRequestStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="The decider's note.")
    source = models.CharField(max_length=32, default="admin", help_text="admin, api, import or schedule.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self):
        if self.state_id is None:
            return f"#{self.pk} {self.flag_key}: {self.get_kind_display().lower()}"
        if self.kind == ChangeKind.DELETE:
            return f"#{self.pk} delete {self.state.flag.key} (in production)"
        return f"#{self.pk} {self.state.flag.key} in {self.state.environment.key} → {'on' if self.enabled else 'off'}"

    TRANSITIONS = CHANGE_REQUEST_TRANSITIONS
    transition_error = InvalidTransition


class ScheduledChange(HistoryEvents, models.Model):
    """ "Set flag X in environment Y to V at time T": beat finds due rows and a worker claims and applies each."""

    state = models.ForeignKey(FlagState, on_delete=models.CASCADE, related_name="scheduled_changes")
    enabled = models.BooleanField(help_text="The value to set.")
    run_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=300)
    status = models.CharField(
        max_length=20, choices=ScheduledChangeStatus.choices, default=ScheduledChangeStatus.SCHEDULED
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)
    change_request = models.ForeignKey(ChangeRequest, on_delete=models.SET_NULL, null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["run_at"]
        indexes = [models.Index(fields=["status", "run_at"], name="scheduled_change_due")]

    def __str__(self):
        value = "on" if self.enabled else "off"
        return f"{self.state.flag.key} in {self.state.environment.key} → {value} at {self.run_at:%Y-%m-%d %H:%M}"

    TRANSITIONS = SCHEDULED_CHANGE_TRANSITIONS
    transition_error = InvalidTransition
