"""The vocabulary of environment data: masking strategies, run kinds, statuses and their transitions."""

from django.db import models


class Strategy(models.TextChoices):
    KEEP = "keep", "Keep (declared safe)"
    PSEUDONYM = "pseudonym", "Pseudonym (HMAC)"
    FAKE = "fake", "Fake from a dictionary"
    EMAIL = "email", "Email <hash>@<domain>.invalid"
    PHONE = "phone", "Phone"
    DATE_SHIFT = "date_shift", "Date shift"
    NULL = "null", "Set null"
    SCRUB = "scrub", "Scrub free text"
    TRUNCATE = "truncate", "Empty the table"


# Strategies whose production values must never reach the masked copy (the leak scan looks for them).
PERSONAL_STRATEGIES = {Strategy.PSEUDONYM, Strategy.FAKE, Strategy.EMAIL, Strategy.PHONE, Strategy.NULL}
TEXT_STRATEGIES = {Strategy.PSEUDONYM, Strategy.FAKE, Strategy.EMAIL, Strategy.PHONE, Strategy.SCRUB}


class SourceKind(models.TextChoices):
    BACKUP_RESTORE = "backup_restore", "Restore of production's latest backup (pg_dump while there is none)"
    PG_DUMP = "pg_dump", "pg_dump of production"


class RunKind(models.TextChoices):
    STAGING_REFRESH = "staging_refresh", "Staging refresh"
    DEV_RESET = "dev_reset", "Dev reset"


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ALLOWED_TRANSITIONS = {
    RunStatus.PENDING: {RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELLED},
    RunStatus.RUNNING: {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED},
    RunStatus.SUCCEEDED: set(),
    RunStatus.FAILED: set(),
    RunStatus.CANCELLED: set(),
}
FINISHED = {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


# The steps of each kind, in order. The last one always runs, whatever happened before.
STEPS = {
    RunKind.STAGING_REFRESH: ["preflight", "copy", "mask", "verify", "load", "cleanup"],
    RunKind.DEV_RESET: ["preflight", "build", "load", "cleanup"],
}


# Saving a masking rule, from the admin form or an import (services.save_masking_rule checks them).
ADD_RULE_PERMISSION = "refreshes.add_maskingrule"
CHANGE_RULE_PERMISSION = "refreshes.change_maskingrule"
