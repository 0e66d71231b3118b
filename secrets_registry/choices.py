from django.db import models


class AccountKind(models.TextChoices):
    SERVICE = "service", "Service account"
    PERSON = "person", "Person"


class RotationKind(models.TextChoices):
    AUTOMATIC = "automatic", "Automatic (the console rotates it)"
    MANUAL = "manual", "Manual (a person rotates it at the provider)"
    NONE = "none", "Not rotated (configuration value)"


class RotationTarget(models.TextChoices):
    NONE = "", "None"
    POSTGRES_ROLE = "postgres_role", "PostgreSQL role password"
    CONSOLE_WEBHOOK = "console_webhook", "The console's own webhook secret"
    SERVICE_TOKEN = "service_token", "Service account API token"


# The console's own webhook secrets a reference of kind CONSOLE_WEBHOOK may feed (its variable).
CONSOLE_WEBHOOK_VARIABLES = {
    "OPS_GIT_WEBHOOK_SECRET": "the git hook's signature secret (X-Hub-Signature-256)",
    "OPS_MONITORING_WEBHOOK_TOKEN": "Alertmanager's bearer token for /api/alerts/alertmanager/",
    "OPS_INCIDENT_WEBHOOK_SECRET": "incident webhook signing secret (the console signs; its receiver is not ours)",
}


class CheckStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    OK = "ok", "OK"
    FAILING = "failing", "Failing"


class ActorKind(models.TextChoices):
    USER = "user", "User"
    SERVICE_ACCOUNT = "service_account", "Service account"
    TASK = "task", "Task"


class AuditAction(models.TextChoices):
    READ = "read", "Read a value"
    WRITE = "write", "Wrote a value"
    ROTATE_CREATE = "rotate_create", "Rotation 1/4: created AWSPENDING"
    ROTATE_SET = "rotate_set", "Rotation 2/4: set in the target"
    ROTATE_TEST = "rotate_test", "Rotation 3/4: tested"
    ROTATE_FINISH = "rotate_finish", "Rotation 4/4: AWSCURRENT moved"
    ROTATE_REVERT = "rotate_revert", "Rotation failed: target put back on AWSCURRENT"
    MARK_ROTATED = "mark_rotated", "Marked rotated (manual)"


class RunStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"


ACTIVE_RUN_STATUSES = (RunStatus.AWAITING_APPROVAL, RunStatus.QUEUED, RunStatus.RUNNING)

RUN_TRANSITIONS = {
    RunStatus.AWAITING_APPROVAL: {RunStatus.QUEUED, RunStatus.REJECTED},
    RunStatus.QUEUED: {RunStatus.RUNNING, RunStatus.FAILED},
    RunStatus.RUNNING: {RunStatus.SUCCEEDED, RunStatus.FAILED},
}


class RotationStep(models.TextChoices):
    CREATE = "create", "1. Create AWSPENDING"
    SET = "set", "2. Set in the target"
    TEST = "test", "3. Test"
    FINISH = "finish", "4. Finish (move AWSCURRENT)"
    DONE = "done", "Done"


NEXT_STEP = {
    RotationStep.CREATE: RotationStep.SET,
    RotationStep.SET: RotationStep.TEST,
    RotationStep.TEST: RotationStep.FINISH,
    RotationStep.FINISH: RotationStep.DONE,
}
STEP_AUDIT = {
    RotationStep.CREATE: AuditAction.ROTATE_CREATE,
    RotationStep.SET: AuditAction.ROTATE_SET,
    RotationStep.TEST: AuditAction.ROTATE_TEST,
    RotationStep.FINISH: AuditAction.ROTATE_FINISH,
}
