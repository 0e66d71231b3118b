"""The vocabulary of §9 (disaster recovery) as choices, with the allowed status transitions."""

from django.db import models


class BackupType(models.TextChoices):
    FULL = "full", "Full"
    INCR = "incr", "Incremental"


class RepoType(models.TextChoices):
    POSIX = "posix", "Filesystem (a mount of storage in another region)"
    S3 = "s3", "S3 bucket"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    GOOD = "good", "Good"
    FAILED = "failed", "Failed"


# A run is good only when pgBackRest said so; a failed or good run never changes again.
RUN_TRANSITIONS = {
    RunStatus.QUEUED: {RunStatus.RUNNING, RunStatus.FAILED},
    RunStatus.RUNNING: {RunStatus.GOOD, RunStatus.FAILED},
    RunStatus.GOOD: set(),
    RunStatus.FAILED: set(),
}
IN_FLIGHT = [RunStatus.QUEUED, RunStatus.RUNNING]


class Verification(models.TextChoices):
    NOT_RUN = "not_run", "Not verified yet"
    PASSED = "passed", "Verified"
    FAILED = "failed", "Verify found errors"


class DrillKind(models.TextChoices):
    DRILL = "drill", "Restore drill (scratch cluster, deleted after)"
    RESTORE = "restore", "Restore for real (new data directory, promoted by a person)"


class DrillStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


DRILL_TRANSITIONS = {
    DrillStatus.QUEUED: {DrillStatus.RUNNING, DrillStatus.FAILED},
    DrillStatus.RUNNING: {DrillStatus.PASSED, DrillStatus.FAILED},
    DrillStatus.PASSED: set(),
    DrillStatus.FAILED: set(),
}


class AlertKind(models.TextChoices):
    """The backup checks that raise alerts (backups.services.ALERT_NAMES names each on monitoring's path)."""

    RPO_BREACH = "rpo_breach", "RPO breached"
    ARCHIVING_FAILED = "archiving_failed", "WAL archiving failing"
    FULL_TOO_OLD = "full_too_old", "No good full backup in time"
    INCR_TOO_OLD = "incr_too_old", "No incremental backup in time"
    VERIFY_FAILED = "verify_failed", "Verify found errors"
    BACKUP_FAILED = "backup_failed", "Backup failed"
    RTO_MISSED = "rto_missed", "Drill missed its RTO"
    DRILL_FAILED = "drill_failed", "Drill failed"
    BUCKET_DRIFT = "bucket_drift", "Asset bucket drifted"
    SAME_REGION = "same_region", "Cross-region copy in the same region"
