"""References to secrets in the cloud secret manager (§7), never their values."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from secrets_registry import conf
from secrets_registry.choices import (
    ACTIVE_RUN_STATUSES,
    CONSOLE_WEBHOOK_VARIABLES,
    RUN_TRANSITIONS,
    AccountKind,
    ActorKind,
    AuditAction,
    CheckStatus,
    RotationKind,
    RotationStep,
    RotationTarget,
    RunStatus,
)
from secrets_registry.exceptions import RunTransitionError

_UPPER_SNAKE = RegexValidator(r"^[A-Z][A-Z0-9_]*$", "Use UPPER_SNAKE_CASE, e.g. DATABASE_URL.")
_MANAGER_NAME = RegexValidator(r"^[A-Za-z0-9/_+=.@-]+$", "Secrets Manager names use letters, digits and /_+=.@-")
_ROLE = RegexValidator(r"^[a-z_][a-z0-9_]*$", "A PostgreSQL role name in lower case, e.g. amarise_app.")


class ServiceAccount(models.Model):
    """Who may read a secret. Access control proper comes later: for now a name, a kind and the IAM principal."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=AccountKind.choices, default=AccountKind.SERVICE)
    principal_arn = models.CharField(
        "IAM principal ARN", max_length=200, blank=True, help_text="The role the service runs as, for the policy."
    )
    description = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    # Who reads which secret: not for every viewer (core.admin_site.SecretPagesMixin).
    admin_view_needs_one_of = ("secrets_registry.check_secrets", "secrets_registry.rotate_secrets")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name if self.kind == AccountKind.SERVICE else f"{self.name} (person)"

    @property
    def is_person(self):
        return self.kind == AccountKind.PERSON


class SecretReference(models.Model):
    """Where a variable's value lives in the manager, who may read it, and how it is rotated. No value."""

    # Where the secrets live: not for every viewer (core.admin_site.SecretPagesMixin).
    admin_view_needs_one_of = (
        "secrets_registry.check_secrets",
        "secrets_registry.rotate_secrets",
        "secrets_registry.approve_production_rotation",
        "secrets_registry.mark_rotated",
        "secrets_registry.export_policy",
    )

    environment = models.ForeignKey("environments.Environment", on_delete=models.PROTECT, related_name="secrets")
    variable = models.CharField(max_length=100, validators=[_UPPER_SNAKE], help_text="The variable it feeds (§7).")
    name = models.CharField(
        "manager name", max_length=200, unique=True, validators=[_MANAGER_NAME],
        help_text="Name in the secret manager, amarise/<environment>/<VARIABLE>.",
    )  # fmt: skip
    arn = models.CharField("ARN", max_length=300, blank=True, help_text="Filled in by the check.")
    region = models.CharField(max_length=30, default=conf.region)
    owner = models.CharField(max_length=100, help_text="Team or person answerable for it.")
    allowed_readers = models.ManyToManyField(ServiceAccount, blank=True, related_name="secrets")

    rotation_kind = models.CharField(max_length=10, choices=RotationKind.choices, default=RotationKind.MANUAL)
    rotation_target = models.CharField(max_length=20, choices=RotationTarget.choices, blank=True, default="")
    target_environment = models.ForeignKey(
        "environments.Environment", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="For a database role: the environment whose database holds the role.",
    )  # fmt: skip
    target_role = models.CharField(max_length=63, blank=True, validators=[_ROLE])
    admin_url_variable = models.CharField(
        max_length=100, blank=True, validators=[_UPPER_SNAKE],
        help_text="Name of the variable, in the worker's environment, holding the admin role's database URL.",
    )  # fmt: skip
    target_service_account = models.ForeignKey(
        "core.ServiceAccount", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="For a service account token: whose token the secret holds (only its digest is in the console).",
    )  # fmt: skip
    rotation_period_days = models.PositiveIntegerField(default=conf.rotation_days, validators=[MinValueValidator(1)])
    last_rotated_at = models.DateTimeField(null=True, blank=True)

    exists = models.BooleanField(null=True, editable=False)
    has_current = models.BooleanField(null=True, editable=False)
    replicated = models.BooleanField(null=True, editable=False)
    current_version_id = models.CharField(max_length=64, blank=True, editable=False)
    check_status = models.CharField(
        max_length=10, choices=CheckStatus.choices, default=CheckStatus.UNKNOWN, editable=False
    )
    check_detail = models.TextField(blank=True, editable=False)
    last_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    # Who changed a reference, its readers or its rotation; the daily check's results would drown that out.
    history = HistoricalRecords(
        excluded_fields=["exists", "has_current", "replicated", "current_version_id", "check_status", "check_detail",
                         "last_checked_at"],
        m2m_fields=[allowed_readers],
    )  # fmt: skip

    class Meta:
        ordering = ["environment__order", "variable"]
        constraints = [models.UniqueConstraint(fields=["environment", "variable"], name="secret_one_per_variable")]
        permissions = [
            ("check_secrets", "Can run secret checks"),
            ("rotate_secrets", "Can rotate secrets"),
            ("approve_production_rotation", "Can approve a production rotation"),
            ("mark_rotated", "Can mark a manual secret rotated"),
            ("export_policy", "Can export the IAM policy"),
        ]

    def __str__(self):
        return self.name

    @property
    def next_due(self):
        if self.rotation_kind == RotationKind.NONE:
            return None
        return (self.last_rotated_at or self.created_at) + timedelta(days=self.rotation_period_days)

    def is_overdue(self, now=None):
        due = self.next_due
        return due is not None and due <= (now or timezone.now())

    @property
    def rotates_automatically(self):
        return self.rotation_kind == RotationKind.AUTOMATIC

    def clean(self):
        errors = {}
        if self.rotation_kind == RotationKind.AUTOMATIC:
            errors.update(self._target_problems())
        elif self.rotation_target:
            errors["rotation_target"] = "Only automatic rotation has a target."
        if errors:
            raise ValidationError(errors)

    def _target_problems(self):
        target = self.rotation_target
        if target == RotationTarget.POSTGRES_ROLE:
            needed = {"target_environment": "target_environment_id", "target_role": "target_role",
                      "admin_url_variable": "admin_url_variable"}  # fmt: skip
            return {field: "Needed to rotate a PostgreSQL role's password."
                    for field, attribute in needed.items() if not getattr(self, attribute)}  # fmt: skip
        if target == RotationTarget.CONSOLE_WEBHOOK:
            if self.variable not in CONSOLE_WEBHOOK_VARIABLES:
                return {"variable": f"A console webhook secret is one of {', '.join(CONSOLE_WEBHOOK_VARIABLES)}."}
            others = SecretReference.objects.filter(rotation_target=target, variable=self.variable)
            if others.exclude(pk=self.pk).exists():
                return {"variable": f"The console reads {self.variable} from one reference only; one exists."}
            return {}
        if target == RotationTarget.SERVICE_TOKEN:
            if not self.target_service_account_id:
                return {"target_service_account": "Needed to rotate a service account's API token."}
            return {}
        return {"rotation_target": "Automatic rotation needs a target."}


class AccessAudit(models.Model):
    """One read, write or rotation step the console made through the manager. Append-only; never a value.

    The manager's own audit log (CloudTrail) stays the source of truth for reads by other services.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=20, choices=ActorKind.choices)
    actor = models.CharField(max_length=150, help_text="User name, service account or task name.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+")  # fmt: skip
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    reference = models.ForeignKey(SecretReference, on_delete=models.PROTECT, related_name="audit")
    secret_name = models.CharField(max_length=200)
    version_id = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=500, blank=True, help_text="Why: the run, the note. Never a value.")

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["reference", "-at"], name="secret_audit_recent")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.secret_name}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Access audit rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Access audit rows are append-only.")


class RotationRun(models.Model):
    """One rotation of one automatic secret, in Secrets Manager's four steps, resumable from `step`."""

    TRANSITIONS = RUN_TRANSITIONS
    transition_error = RunTransitionError

    reference = models.ForeignKey(SecretReference, on_delete=models.PROTECT, related_name="rotations")
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    step = models.CharField(max_length=10, choices=RotationStep.choices, default=RotationStep.CREATE)
    token = models.CharField(max_length=64, help_text="ClientRequestToken: a retried create makes no second version.")
    pending_version_id = models.CharField(max_length=64, blank=True)
    previous_version_id = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")  # fmt: skip
    requested_via = models.CharField(max_length=50, default="admin")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")  # fmt: skip
    reason = models.CharField(max_length=500, blank=True, help_text="Why it failed. Never a value.")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"], condition=Q(status__in=ACTIVE_RUN_STATUSES), name="secret_one_active_rotation"
            )
        ]

    def __str__(self):
        return f"Rotation #{self.pk} of {self.reference.name}"

    @property
    def is_active(self):
        return self.status in ACTIVE_RUN_STATUSES

    def on_status_change(self, old, new):
        now = timezone.now()
        if new == RunStatus.RUNNING:
            self.started_at = self.heartbeat_at = now
            return ["started_at", "heartbeat_at"]
        if new in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.REJECTED):
            self.finished_at = now
            return ["finished_at"]
        return []

    def record_status_change(self, *, old, new, actor, user, reason):
        RotationRunEvent.objects.create(run=self, old_status=old, new_status=new, actor=actor, user=user,
                                        reason=reason[:500])  # fmt: skip


class RotationRunEvent(models.Model):
    run = models.ForeignKey(RotationRun, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    old_status = models.CharField(max_length=20, blank=True)
    new_status = models.CharField(max_length=20)
    actor = models.CharField(max_length=150, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")  # fmt: skip
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.old_status or 'new'} -> {self.new_status}"
