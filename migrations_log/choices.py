"""Vocabulary of §6: how a migration changes the schema, how severe a finding is, how a run ended."""

from django.db import models


class Classification(models.TextChoices):
    ADDITIVE = "additive", "Additive"
    DEPRECATING = "deprecating", "Deprecating"
    DESTRUCTIVE = "destructive", "Destructive"


class Severity(models.TextChoices):
    ERROR = "error", "Error (blocks promotion beyond dev)"
    WARNING = "warning", "Warning"
    ALLOWED = "allowed", "Allowed (deprecated and in production)"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"


# Where a run may go (MigrationRun.TRANSITIONS); a run is created running, or applied when the ledger has it.
RUN_TRANSITIONS = {
    RunStatus.RUNNING: {RunStatus.APPLIED, RunStatus.FAILED},
    RunStatus.APPLIED: set(),
    RunStatus.FAILED: set(),
}


class RunActor(models.TextChoices):
    DEPLOYMENT = "deployment", "Deployment step"
    PERSON = "person", "Person"


class DraftStatus(models.TextChoices):
    DRAFT = "draft", "Draft (a person completes it)"
    REGISTERED = "registered", "Registered in a release"
    DISCARDED = "discarded", "Discarded"


class ObjectKind(models.TextChoices):
    TABLE = "table", "Table"
    COLUMN = "column", "Column"
