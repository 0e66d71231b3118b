"""§9 Disaster recovery: services and their tiers, protected databases, the policy, and what pgBackRest did."""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from backups.choices import (
    DRILL_TRANSITIONS,
    IN_FLIGHT,
    RUN_TRANSITIONS,
    BackupType,
    DrillKind,
    DrillStatus,
    RepoType,
    RunStatus,
    Verification,
)
from backups.exceptions import InvalidTransition
from core import config_values

_identifier = RegexValidator(r"^[A-Za-z0-9_.-]+$", "Letters, digits, dot, dash and underscore only.")


class ServiceTier(models.Model):
    """A service of §9's recovery objectives: its tier, its RTO, its database and the checks a restore must pass."""

    name = models.CharField(max_length=60, unique=True)
    tier = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(3)])
    rto_minutes = models.PositiveIntegerField(
        "RTO target (minutes)", validators=[MinValueValidator(1)], help_text="From losing the database to serving."
    )
    database_name = models.CharField(max_length=63, validators=[_identifier], help_text="The database it needs.")
    row_count_tables = models.CharField(
        max_length=300, blank=True, help_text="Comma-separated tables whose row counts a restore reports."
    )
    checksum_query = models.TextField(
        blank=True, help_text="A read-only query returning one value, compared between drills (e.g. an md5 of ids)."
    )
    order = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["tier", "order", "name"]

    def __str__(self):
        return f"{self.name} (tier {self.tier}, RTO {self.rto})"

    @property
    def rto(self):
        return timedelta(minutes=self.rto_minutes or 0)

    @property
    def tables(self):
        return [t.strip() for t in self.row_count_tables.split(",") if t.strip()]

    def clean(self):
        for table in self.tables:
            try:
                _identifier(table)
            except ValidationError:
                raise ValidationError({"row_count_tables": f"{table!r} is not a plain table name."}) from None


class BackupPolicy(models.Model):
    """§9's backup strategy. The beat schedules are derived from it (services.apply_policy_schedule)."""

    name = models.CharField(max_length=60, unique=True)
    full_hour_utc = models.PositiveSmallIntegerField(default=3, validators=[MaxValueValidator(23)])
    full_minute = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(59)])
    incr_every_hours = models.PositiveSmallIntegerField(
        default=6, validators=[MinValueValidator(1), MaxValueValidator(24)]
    )
    retention_days = models.PositiveSmallIntegerField(default=30, validators=[MinValueValidator(1)])
    cross_region_copy = models.BooleanField(default=True, help_text="Also back up to repo2, the cross-region copy.")
    rto_target_minutes = models.PositiveIntegerField("overall RTO (minutes)", default=240)
    rpo_target_minutes = models.PositiveIntegerField(
        "RPO (minutes)", default=60, validators=[MinValueValidator(1)], help_text="Worst-case data loss allowed."
    )
    full_max_age_hours = models.PositiveSmallIntegerField(
        default=26, validators=[MinValueValidator(1)], help_text="Alert without a good full this long."
    )
    incr_max_age_hours = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1)], help_text="Alert without a good backup (incr or full) this long."
    )
    verify_hour_utc = models.PositiveSmallIntegerField(default=5, validators=[MaxValueValidator(23)])
    drill_weekday = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(6)], help_text="Day of the weekly drill, 0 = Sunday (cron)."
    )
    drill_hour_utc = models.PositiveSmallIntegerField(default=6, validators=[MaxValueValidator(23)])

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "backup policies"

    def __str__(self):
        return self.name

    def clean(self):
        if self.incr_every_hours and 24 % self.incr_every_hours:
            raise ValidationError({"incr_every_hours": "Use a divisor of 24 so incrementals fall at the same hours."})

    @property
    def rto_target(self):
        return timedelta(minutes=self.rto_target_minutes)

    @property
    def rpo_target(self):
        return timedelta(minutes=self.rpo_target_minutes)

    @property
    def full_max_age(self):
        return timedelta(hours=self.full_max_age_hours)

    @property
    def incr_max_age(self):
        return timedelta(hours=self.incr_max_age_hours)


class ProtectedDatabase(models.Model):
    """The PostgreSQL cluster of one environment that keeps backups, and its two pgBackRest repositories."""

    environment = models.OneToOneField(
        "environments.Environment", on_delete=models.PROTECT, related_name="protected_database"
    )
    policy = models.ForeignKey(BackupPolicy, on_delete=models.PROTECT, related_name="databases")
    stanza = models.CharField(max_length=60, unique=True, validators=[_identifier])
    host = models.CharField(max_length=200, default="127.0.0.1", help_text="For the console's own queries.")
    port = models.PositiveIntegerField(default=5432)
    user = models.CharField(max_length=63, default="postgres")
    data_directory = models.CharField(max_length=400)
    socket_directory = models.CharField(max_length=400, default="/var/run/postgresql")
    pg_bin_dir = models.CharField("PostgreSQL bin dir", max_length=400, default="/usr/lib/postgresql/15/bin")
    os_user = models.CharField(
        "OS user", max_length=32, default="postgres", help_text="pgBackRest and scratch clusters run as this user."
    )
    work_dir = models.CharField(
        max_length=400, help_text="Where the console writes pgbackrest.conf, locks, logs, spool and scratch clusters."
    )
    repo1_path = models.CharField("repo1 (primary)", max_length=400)
    repo2_path = models.CharField(
        "repo2 (cross-region copy)", max_length=400, blank=True,
        help_text="A directory; for an S3 bucket, the path inside the bucket (e.g. /pgbackrest).",
    )  # fmt: skip
    repo1_region = models.CharField(
        "repo1 region", max_length=30, blank=True, validators=[_identifier], help_text="Where repo1 is, e.g. eu-west-1."
    )
    repo2_type = models.CharField("repo2 storage", max_length=8, choices=RepoType.choices, default=RepoType.POSIX)
    repo2_region = models.CharField(
        "repo2 region", max_length=30, blank=True, validators=[_identifier],
        help_text="Where the copy is; for S3, the bucket's region. The same region as repo1 raises an alert.",
    )  # fmt: skip
    repo2_s3_bucket = models.CharField("repo2 S3 bucket", max_length=63, blank=True, validators=[_identifier])
    repo2_s3_endpoint = models.CharField(
        "repo2 S3 endpoint", max_length=200, blank=True, help_text="e.g. s3.eu-central-1.amazonaws.com"
    )
    repo2_s3_port = models.PositiveIntegerField("repo2 S3 port", default=443)
    repo2_s3_uri_style = models.CharField(
        "repo2 S3 URI style", max_length=4, choices=[("host", "host"), ("path", "path")], default="host"
    )
    repo2_s3_ca_file = models.CharField(
        "repo2 CA file", max_length=400, blank=True, help_text="CA bundle to verify the endpoint with; empty: system's."
    )
    repo2_s3_verify_tls = models.BooleanField("verify repo2's TLS certificate", default=True)
    repo2_s3_key_env = models.CharField(
        "repo2 S3 key variable", max_length=100, default="OPS_BACKUPS_REPO2_S3_KEY",
        validators=[RegexValidator(r"^[A-Z][A-Z0-9_]*$", "Use UPPER_SNAKE_CASE.")],
        help_text="Name of the process variable holding the access key id. The value is never stored or shown.",
    )  # fmt: skip
    repo2_s3_secret_env = models.CharField(
        "repo2 S3 secret variable", max_length=100, default="OPS_BACKUPS_REPO2_S3_KEY_SECRET",
        validators=[RegexValidator(r"^[A-Z][A-Z0-9_]*$", "Use UPPER_SNAKE_CASE.")],
        help_text="Name of the process variable holding the secret access key. Never stored or shown.",
    )  # fmt: skip
    cipher = models.BooleanField(
        "encrypt repositories", default=False, help_text="aes-256-cbc; the passphrase comes from the process env."
    )
    cipher_pass_env = models.CharField(
        "passphrase variable",
        max_length=100,
        default="OPS_BACKUPS_CIPHER_PASS",
        validators=[RegexValidator(r"^[A-Z][A-Z0-9_]*$", "Use UPPER_SNAKE_CASE.")],
        help_text="Name of the process variable holding the passphrase. The value is never stored or shown.",
    )
    start_fast = models.BooleanField(default=True, help_text="Force a checkpoint so the backup starts at once.")
    enabled = models.BooleanField(default=True, help_text="Scheduled jobs skip a disabled database.")

    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True)
    last_check_detail = models.TextField(blank=True)

    history = HistoricalRecords(excluded_fields=["last_check_at", "last_check_ok", "last_check_detail"])

    class Meta:
        ordering = ["environment__order"]

    def __str__(self):
        return f"{self.environment} ({self.stanza})"

    @property
    def config_path(self):
        return str(Path(self.work_dir) / "pgbackrest.conf")

    @property
    def repos(self):
        """Repository numbers a backup goes to, the primary first."""
        return [1, 2] if self.repo2_path and self.policy.cross_region_copy else [1]

    def clean(self):
        from backups.drivers.pgbackrest import root_problem

        # Written into pgbackrest.conf or its command lines: nothing that changes the file's structure.
        written = ["stanza", "data_directory", "socket_directory", "user", "os_user", "work_dir", "repo1_path",
                   "repo2_path", "pg_bin_dir", "host", "repo2_region", "repo2_s3_bucket", "repo2_s3_endpoint",
                   "repo2_s3_ca_file"]  # fmt: skip
        errors = config_values.problems(self, written, strip_sensitive=True)
        # Paths also go into a scratch cluster's quoted server options (hba_file='...', socket directory).
        paths = ["data_directory", "socket_directory", "work_dir", "repo1_path", "repo2_path", "pg_bin_dir"]
        for name, message in config_values.problems(self, paths, forbidden="'\"").items():
            errors.setdefault(name, message)
        if "os_user" not in errors and root_problem(self.os_user or ""):
            errors["os_user"] = root_problem(self.os_user) + "."
        if self.repo2_type == RepoType.S3:
            for name in ["repo2_path", "repo2_s3_bucket", "repo2_s3_endpoint", "repo2_region"]:
                if not getattr(self, name):
                    errors.setdefault(name, "Required for an S3 bucket.")
        for name in ["data_directory", "work_dir", "repo1_path", "repo2_path", "socket_directory", "pg_bin_dir",
                     "repo2_s3_ca_file"]:  # fmt: skip
            if name in errors:
                continue
            value = getattr(self, name)
            if value and not value.startswith("/"):
                errors[name] = "Use an absolute path."
        if self.repo2_type == RepoType.POSIX and self.repo2_path and self.repo2_path == self.repo1_path:
            errors["repo2_path"] = "The cross-region copy must be a different repository from repo1."
        if self.environment_id and self.environment.is_production and not self.cipher:
            errors["cipher"] = "Production repositories are encrypted at rest (§2)."
        if errors:
            raise ValidationError(errors)


class BackupRun(models.Model):
    """One backup, claimed before pgBackRest starts so a crash leaves a row that the reconcile job can fail."""

    database = models.ForeignKey(ProtectedDatabase, on_delete=models.PROTECT, related_name="runs")
    type = models.CharField(max_length=8, choices=BackupType.choices)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    requested_by = models.CharField(max_length=150, default="beat")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker_host = models.CharField(max_length=200, blank=True)
    worker_pid = models.PositiveIntegerField(null=True, blank=True)

    label = models.CharField("pgBackRest label", max_length=100, blank=True, help_text="pgBackRest's label on repo1.")
    labels = models.JSONField(default=dict, blank=True, help_text="Label per repository reached.")
    prior_label = models.CharField(max_length=100, blank=True, help_text="The backup an incremental is based on.")
    repos_reached = models.JSONField(default=list, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True, help_text="Database size at backup.")
    repo_size_bytes = models.BigIntegerField(null=True, blank=True, help_text="What this backup added to repo1.")
    wal_start = models.CharField(max_length=24, blank=True)
    wal_stop = models.CharField(max_length=24, blank=True)
    expired = models.JSONField(default=list, blank=True, help_text="Backups pgBackRest's retention removed.")
    repo_sizes = models.JSONField(default=dict, blank=True, help_text="Bytes each repository holds after this run.")
    error = models.TextField(blank=True)

    verification = models.CharField(max_length=10, choices=Verification.choices, default=Verification.NOT_RUN)
    verified_at = models.DateTimeField(null=True, blank=True)
    verify_detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Refused in the database, whatever the caller: one in-flight backup per database.
            models.UniqueConstraint(
                fields=["database"], condition=Q(status__in=IN_FLIGHT), name="backup_run_one_in_flight"
            )
        ]
        indexes = [models.Index(fields=["database", "status", "-finished_at"], name="backup_run_recent")]

    def __str__(self):
        return f"{self.get_type_display()} backup of {self.database.stanza} #{self.pk} ({self.status})"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    TRANSITIONS = RUN_TRANSITIONS
    transition_error = InvalidTransition

    def can_move_to(self, status):
        return status in self.TRANSITIONS[self.status]

    def record_status_change(self, *, old, new, actor, user=None, reason=""):
        BackupRunEvent.objects.create(run=self, old_status=old, new_status=new, actor=actor, reason=reason)


class BackupRunEvent(models.Model):
    """Append-only: each status change of a run, who made it and why."""

    run = models.ForeignKey(BackupRun, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    old_status = models.CharField(max_length=10, blank=True)
    new_status = models.CharField(max_length=10)
    actor = models.CharField(max_length=150)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.old_status or '—'} → {self.new_status} by {self.actor}"


class RestoreDrill(models.Model):
    """A restore: a drill into a scratch cluster that is deleted after, or a real PITR into a new directory."""

    database = models.ForeignKey(ProtectedDatabase, on_delete=models.PROTECT, related_name="drills")
    kind = models.CharField(max_length=8, choices=DrillKind.choices, default=DrillKind.DRILL)
    status = models.CharField(max_length=10, choices=DrillStatus.choices, default=DrillStatus.QUEUED)
    repo = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(2)])
    target_time = models.DateTimeField(null=True, blank=True, help_text="Empty: the latest backup and all WAL.")
    backup_label = models.CharField(max_length=100, blank=True, help_text="The backup set pgBackRest restored.")
    requested_by = models.CharField(max_length=150, default="beat")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    serving_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    measured_rto = models.DurationField(null=True, blank=True, help_text="Restore start to serving queries.")
    recovery_point = models.DateTimeField(null=True, blank=True, help_text="Last transaction the restore reached.")
    target_directory = models.CharField(max_length=400, blank=True)
    scratch_removed = models.BooleanField(default=False)
    results = models.JSONField(default=list, blank=True, help_text="Per service: RTO vs target, data checks.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display().split(' (')[0]} of {self.database.stanza} #{self.pk} ({self.status})"

    TRANSITIONS = DRILL_TRANSITIONS
    transition_error = InvalidTransition

    def can_move_to(self, status):
        return status in self.TRANSITIONS[self.status]

    def record_status_change(self, *, old, new, actor, user=None, reason=""):
        RestoreDrillEvent.objects.create(drill=self, old_status=old, new_status=new, actor=actor, reason=reason)


class RestoreDrillEvent(models.Model):
    """Append-only: each status change of a drill or restore, who made it and why."""

    drill = models.ForeignKey(RestoreDrill, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    old_status = models.CharField(max_length=10, blank=True)
    new_status = models.CharField(max_length=10)
    actor = models.CharField(max_length=150)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.old_status or '—'} → {self.new_status} by {self.actor}"


class RpoCheck(models.Model):
    """One look at archiving: the worst-case data loss if the cluster were lost now."""

    database = models.ForeignKey(ProtectedDatabase, on_delete=models.CASCADE, related_name="rpo_checks")
    checked_at = models.DateTimeField()
    last_archived_wal = models.CharField(max_length=40, blank=True)
    last_archived_at = models.DateTimeField(null=True, blank=True)
    last_failed_wal = models.CharField(max_length=40, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    archive_timeout = models.DurationField(null=True, blank=True)
    unarchived_bytes = models.BigIntegerField(default=0)
    worst_case_loss = models.DurationField(null=True, blank=True, help_text="Empty when it cannot be known.")
    archiving_failing = models.BooleanField(default=False)
    ok = models.BooleanField()
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-checked_at"]
        indexes = [
            models.Index(fields=["database", "-checked_at"], name="rpo_check_recent"),
            # The admin list's order (its -pk breaks ties): a year of checks sorted without a sort.
            models.Index(fields=["-checked_at", "-id"], name="rpo_check_newest"),
        ]

    def __str__(self):
        return f"RPO {'ok' if self.ok else 'RED'} at {self.checked_at:%Y-%m-%d %H:%M:%S}"


class RpoCheckHourly(models.Model):
    """An hour of a database's RPO checks, kept after the raw checks are pruned (retention, issue 19).

    What a recording rule would keep for a chart: how many checks, how many red, how many saw archiving
    failing or could not know the loss, and the hour's worst loss and largest unarchived backlog.
    """

    database = models.ForeignKey(ProtectedDatabase, on_delete=models.CASCADE, related_name="rpo_hours")
    hour = models.DateTimeField(help_text="The start of the hour (UTC).")
    checks = models.PositiveIntegerField()
    failed = models.PositiveIntegerField(help_text="Checks that were not ok.")
    archiving_failing = models.PositiveIntegerField(help_text="Checks that saw archiving failing.")
    loss_unknown = models.PositiveIntegerField(help_text="Checks that could not know the worst-case loss.")
    worst_case_loss = models.DurationField(null=True, blank=True, help_text="The hour's largest worst-case loss.")
    unarchived_bytes = models.BigIntegerField(help_text="The hour's largest unarchived backlog.")

    class Meta:
        ordering = ["-hour", "-id"]
        verbose_name = "RPO check hour"
        constraints = [models.UniqueConstraint(fields=["database", "hour"], name="rpo_check_hour_once")]
        indexes = [models.Index(fields=["-hour", "-id"], name="rpo_check_hour_newest")]

    def __str__(self):
        return f"RPO {self.hour:%Y-%m-%d %H:00}: {self.failed}/{self.checks} red"


class AssetBucket(models.Model):
    """§9 Files/Assets: an environment's bucket, whose settings a daily check reads through the S3 API."""

    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=63, unique=True)
    region = models.CharField(max_length=30, default="eu-west-1")
    endpoint_url = models.CharField(max_length=200, blank=True, help_text="Empty for AWS itself.")
    noncurrent_days = models.PositiveSmallIntegerField(default=90, help_text="Noncurrent versions kept this long.")
    replication_required = models.BooleanField(default=True)

    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_ok = models.BooleanField(null=True)
    last_findings = models.JSONField(default=list, blank=True)

    history = HistoricalRecords(excluded_fields=["last_checked_at", "last_ok", "last_findings"])

    def __str__(self):
        return self.name
