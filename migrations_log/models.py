import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connection, models, transaction
from django.db.models import Q
from simple_history.models import HistoricalRecords

from migrations_log import conf
from migrations_log.choices import (
    RUN_TRANSITIONS,
    Classification,
    DraftStatus,
    ObjectKind,
    RunActor,
    RunStatus,
    Severity,
)
from migrations_log.exceptions import InvalidTransition

IDENTIFIER = RegexValidator(
    r"\A\d+_[A-Za-z0-9_]+\Z", "Name migration files <number>_<name>.sql, e.g. 0007_add_gift_note.sql."
)


def checksum(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


def target_variable_problem(variable: str, environment_key: str, other_keys=()) -> str:
    """Why `variable` cannot hold `environment_key`'s database URL, or '' when it can.

    It must end in <ENVIRONMENT>_DATABASE_URL (a prefix such as ACME_ is fine) and name no other environment,
    so a staging target can never be pointed at PRODUCTION_DATABASE_URL by a slip."""
    own = environment_key.upper().replace("-", "_")
    expected = f"{own}_DATABASE_URL"
    words = (variable or "").split("_")
    if not (variable == expected or variable.endswith("_" + expected)):
        return f"{environment_key}'s database URL variable must be {expected} (or end with _{expected}), not {variable}"
    for other in other_keys:
        other_word = other.upper().replace("-", "_")
        if other != environment_key and other_word not in own.split("_") and other_word in words:
            return f"{variable} names the {other} environment; {environment_key}'s variable must be its own"
    return ""


class MigrationTarget(models.Model):
    """An environment's database as migrations see it. The URL is a secret: only its variable's name is kept."""

    environment = models.OneToOneField(
        "environments.Environment", on_delete=models.CASCADE, related_name="migration_target"
    )
    database_url_variable = models.CharField(
        max_length=100,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9_]*$", "The NAME of a process variable, e.g. STAGING_DATABASE_URL.")],
        help_text="Process variable holding the database URL; the console never stores the URL itself.",
    )
    lock_timeout_ms = models.PositiveIntegerField(default=5000)
    statement_timeout_ms = models.PositiveIntegerField(default=900000)
    enabled = models.BooleanField(default=True, help_text="Run pending migrations as a deployment step.")

    history = HistoricalRecords()

    def __str__(self):
        return f"{self.environment} database (${self.database_url_variable})"

    def variable_problem(self) -> str:
        from environments.public import Environment

        others = Environment.objects.exclude(pk=self.environment_id).values_list("key", flat=True)
        return target_variable_problem(self.database_url_variable, self.environment.key, list(others))

    def clean(self):
        if self.environment_id and self.database_url_variable:
            problem = self.variable_problem()
            if problem:
                raise ValidationError({"database_url_variable": f"{problem}."})


class Migration(models.Model):
    identifier = models.CharField(max_length=200, unique=True, validators=[IDENTIFIER])
    sequence = models.PositiveIntegerField(help_text="The file's leading number: migrations apply in this order.")
    release = models.ForeignKey("deployments.Release", on_delete=models.PROTECT, related_name="introduced_migrations")
    sql = models.TextField()
    sha256 = models.CharField(max_length=64)
    classification = models.CharField(max_length=12, choices=Classification.choices)
    estimate_seconds = models.FloatField(
        null=True, blank=True, help_text="Estimated execution time; required before staging."
    )
    transactional = models.BooleanField(
        default=True, help_text="False when it holds a statement such as CREATE INDEX CONCURRENTLY, run on its own."
    )
    tested_locally_at = models.DateTimeField(null=True, blank=True, help_text="Reported by CI through the API.")
    registered_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["tested_locally_at"])

    class Meta:
        ordering = ["sequence", "identifier"]
        permissions = [
            ("verify_migration_run", "Can verify a staging migration run"),
            ("acknowledge_lint_finding", "Can acknowledge a migration lint warning"),
        ]

    def __str__(self):
        return self.identifier

    @property
    def filename(self):
        return f"{self.identifier}.sql"


# Held until the registering transaction ends: two registrations must not diff against the same latest set.
_REGISTRATION_LOCK = "migrations_log.migration_set"


def _next_registration_number():
    """One past every number a set or a span holds: a deleted release's number is never reused by a span."""
    from django.db.models import Max

    used = [
        MigrationSet.objects.aggregate(n=Max("seq"))["n"],
        MigrationSpan.objects.aggregate(n=Max("first_seq"))["n"],
        MigrationSpan.objects.aggregate(n=Max("last_seq"))["n"],
    ]
    return max((n for n in used if n is not None), default=0) + 1


class MigrationSet(models.Model):
    """A release's migration set, as last registered: the migrations whose spans cover its number `seq`.

    Every registration (a re-registration too) takes the next number and writes only what changed since the
    latest registration, so storage grows with the changes, not with releases × migrations."""

    release = models.OneToOneField("deployments.Release", on_delete=models.CASCADE, related_name="migration_set")
    seq = models.PositiveBigIntegerField(unique=True, help_text="Registration number: later registrations are higher.")
    size = models.PositiveIntegerField(help_text="How many migrations the set holds (for lists, not for rules).")

    class Meta:
        ordering = ["seq"]

    def __str__(self):
        return f"{self.release}: {self.size} migration(s), registration {self.seq}"

    @classmethod
    def record(cls, release, migrations):
        """Register `migrations` as `release`'s whole set, under the next registration number.

        Compared with the latest registration (the open spans): an added migration opens a span at the new
        number, a removed one closes its span at the number before, an unchanged one costs nothing."""
        wanted = {getattr(m, "pk", m) for m in migrations}
        with transaction.atomic():
            if connection.vendor == "postgresql":  # SQLite (make run) serialises writers by itself
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [_REGISTRATION_LOCK])
            seq = _next_registration_number()
            still_open = set(MigrationSpan.objects.filter(last_seq__isnull=True).values_list("migration_id", flat=True))
            MigrationSpan.objects.filter(last_seq__isnull=True, migration_id__in=still_open - wanted).update(
                last_seq=seq - 1
            )
            MigrationSpan.objects.bulk_create(
                MigrationSpan(migration_id=m, first_seq=seq) for m in sorted(wanted - still_open)
            )
            migration_set, _ = cls.objects.update_or_create(release=release, defaults={"seq": seq, "size": len(wanted)})
        return migration_set


class MigrationSpanQuerySet(models.QuerySet):
    def covering(self, seq):
        """Spans holding registration `seq` (a number or an expression such as OuterRef)."""
        return self.filter(Q(first_seq__lte=seq), Q(last_seq__isnull=True) | Q(last_seq__gte=seq))


class MigrationSpan(models.Model):
    """`migration` was in every registered set numbered first_seq…last_seq (no last_seq: it still is)."""

    migration = models.ForeignKey(Migration, on_delete=models.PROTECT, related_name="spans")
    first_seq = models.PositiveBigIntegerField()
    last_seq = models.PositiveBigIntegerField(null=True, blank=True)

    objects = MigrationSpanQuerySet.as_manager()

    class Meta:
        ordering = ["migration", "first_seq"]
        constraints = [
            # The latest set holds a migration once: at most one open span each.
            models.UniqueConstraint(
                fields=["migration"], condition=Q(last_seq__isnull=True), name="migration_span_open_once"
            ),
            models.CheckConstraint(
                condition=Q(last_seq__isnull=True) | Q(last_seq__gte=models.F("first_seq")),
                name="migration_span_not_empty",
            ),
        ]

    def __str__(self):
        return f"{self.migration}: registrations {self.first_seq}–{self.last_seq or 'now'}"


class LintFinding(models.Model):
    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="findings")
    line = models.PositiveIntegerField(help_text="1-based line in the file.")
    column = models.PositiveIntegerField(default=0)
    rule = models.CharField(max_length=80)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    message = models.TextField()
    help = models.TextField(blank=True, help_text="squawk's help text.")
    drops = models.CharField(
        max_length=500, blank=True, help_text="What a DROP statement drops (table or table.column), from pglast."
    )
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_reason = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["migration", "line", "column", "rule"]

    def __str__(self):
        return f"{self.migration.filename}:{self.line} {self.rule} ({self.severity})"

    @property
    def location(self):
        return f"{self.migration.filename}:{self.line}"


class Deprecation(models.Model):
    """A table or column marked deprecated in a release; it may be dropped once that release is in production."""

    kind = models.CharField(max_length=8, choices=ObjectKind.choices)
    table = models.CharField(max_length=128)
    column = models.CharField(max_length=128, blank=True)
    release = models.ForeignKey("deployments.Release", on_delete=models.PROTECT, related_name="deprecations")
    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="deprecations")

    class Meta:
        ordering = ["table", "column"]
        constraints = [
            models.UniqueConstraint(fields=["table", "column"], name="deprecation_once_per_object"),
            models.CheckConstraint(
                condition=(Q(kind="table", column="") | (Q(kind="column") & ~Q(column=""))),
                name="deprecation_column_named_for_columns",
            ),
        ]

    def __str__(self):
        return self.target

    @property
    def target(self):
        return f"{self.table}.{self.column}" if self.column else self.table


class MigrationRun(models.Model):
    """One migration in one environment. Failed runs stay: a retry is a new run."""

    migration = models.ForeignKey(Migration, on_delete=models.PROTECT, related_name="runs")
    environment = models.ForeignKey("environments.Environment", on_delete=models.PROTECT, related_name="migration_runs")
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField()
    duration_seconds = models.FloatField(null=True, blank=True)
    actor = models.CharField(max_length=12, choices=RunActor.choices)
    deployment = models.ForeignKey(
        "deployments.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    output = models.TextField(blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    data_refreshed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The environment's last data refresh when this ran: how old staging's data was.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_at"]
        # The admin list's order (its -pk breaks ties).
        indexes = [models.Index(fields=["-started_at", "-id"], name="migration_run_newest")]
        constraints = [
            models.UniqueConstraint(
                fields=["migration", "environment"],
                condition=Q(status="applied"),
                name="migration_applied_once_per_environment",
            ),
            models.UniqueConstraint(
                fields=["migration", "environment"],
                condition=Q(status="running"),
                name="migration_running_once_per_environment",
            ),
        ]

    def __str__(self):
        return f"{self.migration} on {self.environment}: {self.status}"

    @property
    def actor_label(self):
        if self.deployment_id:
            return f"deployment #{self.deployment_id}"
        return self.user.get_username() if self.user_id else self.get_actor_display().lower()

    @property
    def slow(self):
        """Took more than twice (OPS_MIGRATIONS_SLOW_FACTOR) its estimate."""
        estimate = self.migration.estimate_seconds
        if not estimate or self.duration_seconds is None:
            return False
        return self.duration_seconds > conf.slow_factor() * estimate

    @property
    def duration(self):
        return timedelta(seconds=self.duration_seconds) if self.duration_seconds is not None else None

    TRANSITIONS = RUN_TRANSITIONS
    transition_error = InvalidTransition

    def record_status_change(self, *, old, new, actor, user=None, reason=""):
        MigrationRunEvent.objects.create(run=self, old_status=old, new_status=new, actor=actor, user=user,
                                         reason=reason)  # fmt: skip


class MigrationRunEvent(models.Model):
    """Append-only: each status change of a migration run (its creation included), who made it and why."""

    run = models.ForeignKey(MigrationRun, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    old_status = models.CharField(max_length=8, blank=True)
    new_status = models.CharField(max_length=8)
    actor = models.CharField(max_length=150)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.old_status or '—'} → {self.new_status} by {self.actor}"


class ReverseMigration(models.Model):
    """Forward only: a rollback is a new migration. This is its recorded draft, completed by a person."""

    reverses = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="reverse_drafts")
    identifier = models.CharField(max_length=200, validators=[IDENTIFIER])
    sql = models.TextField(help_text="Complete this SQL; it is registered with a later release like any migration.")
    status = models.CharField(max_length=12, choices=DraftStatus.choices, default=DraftStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.identifier} (reverses {self.reverses})"

    def clean(self):
        if self.identifier and Migration.objects.filter(identifier=self.identifier).exists():
            raise ValidationError({"identifier": "A registered migration already has this identifier."})
