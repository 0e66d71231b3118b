import re
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from refreshes.choices import ALLOWED_TRANSITIONS, FINISHED, RunKind, RunStatus, SourceKind, StepStatus, Strategy
from refreshes.dictionaries import DICTIONARIES
from refreshes.exceptions import InvalidTransition

_IDENTIFIER = RegexValidator(
    r"^[a-z_][a-z0-9_]*$", "Use the schema's, table's or column's SQL name: lower case, digits, _."
)
DEFAULT_SCHEMA = "public"
_ENV_VAR = RegexValidator(
    r"^[A-Z][A-Z0-9_]*$", "Name the process variable in UPPER_SNAKE_CASE, e.g. STAGING_DATABASE_URL."
)

# Column names that usually hold personal data; flagged in the admin until ruled.
PERSONAL_NAME = re.compile(
    r"e_?mail|phone|mobile|name|address|street|line[12]|city|postal|zip|birth|dob|ip(_|$)|ip_address|card|iban|"
    r"token|secret|password|ssn|passport|fingerprint|provider_id|session|gift_message|body|comment|note",
    re.IGNORECASE,
)


# Column names that say outright they hold personal data: such a column may never be kept as it is, whatever the
# rule's note says (the import of `customers.email: keep` in issue 14). Narrower than PERSONAL_NAME, which only warns.
ALWAYS_PERSONAL = re.compile(
    r"(^|_)(e_?mail|phone|phone_number|mobile|password|password_hash|iban|ssn|passport|passport_number|"
    r"birth_date|date_of_birth|dob|ip_address|last_login_ip)$",
    re.IGNORECASE,
)


def _new_token():
    return secrets.token_hex(4)


def looks_personal(column: str) -> bool:
    return bool(PERSONAL_NAME.search(column))


def always_personal(column: str) -> bool:
    return bool(column) and bool(ALWAYS_PERSONAL.search(column))


def kept_personal(rule) -> str:
    """The refusal when a rule keeps a column that is personal by name; empty when the rule is fine."""
    if rule.strategy == Strategy.KEEP and always_personal(rule.column):
        return f"{rule.schema}.{rule.table}.{rule.column} holds personal data: it cannot be kept as it is; mask it"
    return ""


class DataTarget(models.Model):
    """Where an environment's database is: the NAME of the process variable with its URL, never the URL."""

    environment = models.OneToOneField("environments.Environment", on_delete=models.CASCADE, related_name="data_target")
    dsn_env_var = models.CharField(
        "database URL variable",
        max_length=100,
        validators=[_ENV_VAR],
        help_text="Process variable holding postgres://USER:PASSWORD@HOST:PORT/NAME; its value is never stored.",
    )
    source_kind = models.CharField(
        "source",
        max_length=20,
        choices=SourceKind.choices,
        default=SourceKind.BACKUP_RESTORE,
        help_text="How a staging refresh copies production. A backup restore never reads production and proves "
        "the backup restores; pg_dump reads production itself.",
    )
    masking_key_env_var = models.CharField(
        max_length=100,
        default="OPS_MASKING_KEY",
        validators=[_ENV_VAR],
        help_text="Process variable holding the HMAC key of the masking. The same key gives the same pseudonyms.",
    )
    dev_seed = models.PositiveIntegerField(default=20240102, help_text="Faker seed of the dev reset.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["environment__order"]

    def __str__(self):
        return f"{self.environment} database ({self.dsn_env_var})"


class MaskingRule(models.Model):
    """How one column of production reaches staging, named schema.table.column. A blank column rules the whole table.

    Every schema of production is checked (but PostgreSQL's own): a schema no rule mentions fails the preflight.
    """

    schema = models.CharField(
        max_length=63,
        default=DEFAULT_SCHEMA,
        validators=[_IDENTIFIER],
        help_text="The table's schema in production: public, or crm, audit...",
    )
    table = models.CharField(max_length=63, validators=[_IDENTIFIER])
    column = models.CharField(max_length=63, blank=True, validators=[_IDENTIFIER], help_text="Blank: the whole table.")
    strategy = models.CharField(max_length=16, choices=Strategy.choices)
    params = models.JSONField(default=dict, blank=True, help_text='e.g. {"dictionary": "first_name"}, {"days": 30}')
    note = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["schema", "table", "column"]
        constraints = [
            models.UniqueConstraint(fields=["schema", "table", "column"], name="masking_rule_unique_schema_column")
        ]

    def __str__(self):
        return f"{self.label}: {self.strategy}"

    @property
    def label(self):
        return f"{self.schema}.{self.table}.{self.column or '*'}"

    @property
    def table_key(self):
        return (self.schema, self.table)

    @property
    def key(self):
        return (self.schema, self.table, self.column)

    @property
    def is_personal(self):
        return looks_personal(self.column) if self.column else False

    def clean(self):
        errors = {}
        params = self.params if isinstance(self.params, dict) else None
        if params is None:
            errors["params"] = "Params must be a JSON object, e.g. {}."
            params = {}
        if self.strategy == Strategy.TRUNCATE and self.column:
            errors["column"] = "Emptying is for a whole table: leave the column blank."
        if self.strategy != Strategy.TRUNCATE and not self.column:
            errors["column"] = "Name the column; only 'Empty the table' rules a whole table."
        if kept_personal(self):
            errors["strategy"] = kept_personal(self) + "."
        if self.strategy == Strategy.FAKE and params.get("dictionary") not in DICTIONARIES:
            errors["params"] = f"Choose a dictionary: {', '.join(sorted(DICTIONARIES))}."
        if self.strategy == Strategy.DATE_SHIFT:
            days = params.get("days", 30)
            if not isinstance(days, int) or not 1 <= days <= 3650:
                errors["params"] = "days must be a whole number from 1 to 3650."
        if self.strategy == Strategy.EMAIL and not re.fullmatch(r"[a-z0-9-]{1,40}", params.get("domain", "masked")):
            errors["params"] = "domain must be lower-case letters, digits and dashes (the .invalid is added)."
        if self.strategy == Strategy.PSEUDONYM:
            length = params.get("length", 16)
            if not isinstance(length, int) or not 8 <= length <= 64:
                errors["params"] = "length must be a whole number from 8 to 64."
        if errors:
            raise ValidationError(errors)


class RefreshRun(models.Model):
    """One staging refresh or dev reset: a chain of steps, with what it found."""

    kind = models.CharField(max_length=20, choices=RunKind.choices)
    environment = models.ForeignKey("environments.Environment", on_delete=models.PROTECT, related_name="refresh_runs")
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.PENDING)
    # Random per run: part of every database name the run creates, so two runs never share one.
    token = models.CharField(max_length=12, default=_new_token, editable=False)
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    row_counts = models.JSONField(default=dict, blank=True)
    leak_scan_passed = models.BooleanField(null=True)
    leak_scan = models.JSONField(default=dict, blank=True)
    checks = models.JSONField(default=dict, blank=True)
    preview = models.JSONField(default=dict, blank=True, help_text="A few rows per table, after masking only.")
    test_logins = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["environment", "kind", "-finished_at"], name="refresh_run_latest"),
            # The dashboard's data age: the last run of a status per environment, found without a sort.
            models.Index(fields=["environment", "status", "-finished_at", "-id"], name="refresh_run_latest_status"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_finished(self):
        return self.status in FINISHED

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    TRANSITIONS = ALLOWED_TRANSITIONS
    transition_error = InvalidTransition

    def can_move_to(self, status):
        return status in self.TRANSITIONS[RunStatus(self.status)]

    def on_status_change(self, old, new):
        now = timezone.now()
        if new == RunStatus.RUNNING:
            self.started_at = now
            return ["started_at"]
        if new in FINISHED:
            self.finished_at = now
            return ["finished_at"]
        return []

    def record_status_change(self, *, old, new, actor="", user=None, reason=""):
        RunEvent.objects.create(run=self, old_status=old, new_status=new, actor=actor, reason=reason[:2000])


class RefreshStep(models.Model):
    run = models.ForeignKey(RefreshRun, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=20)
    position = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    row_counts = models.JSONField(default=dict, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="refresh_step_unique_name")]

    def __str__(self):
        return f"{self.name} ({self.status})"


class RunEvent(models.Model):
    """Append-only: every status change of a run, with why."""

    run = models.ForeignKey(RefreshRun, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    old_status = models.CharField(max_length=12, choices=RunStatus.choices)
    new_status = models.CharField(max_length=12, choices=RunStatus.choices)
    actor = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.old_status} → {self.new_status}"
