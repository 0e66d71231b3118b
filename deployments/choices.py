"""Vocabulary of §4 and §5: deployment states and their allowed transitions, slots, triggers."""

from django.db import models


class DeploymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    AWAITING_CHECKLIST = "awaiting_checklist", "Awaiting checklist"
    DEPLOYING = "deploying", "Deploying to idle slot"
    SMOKE_TESTING = "smoke_testing", "Smoke testing"
    HEALTH_CHECKING = "health_checking", "Health checking"
    SHIFTING_TRAFFIC = "shifting_traffic", "Shifting traffic"
    VERIFYING = "verifying", "Verifying"
    SUCCEEDED = "succeeded", "Succeeded"
    PAUSED = "paused", "Paused, awaiting a decision"
    ROLLING_BACK = "rolling_back", "Rolling back"
    ROLLED_BACK = "rolled_back", "Rolled back"
    FAILED = "failed", "Failed"
    ABORTED = "aborted", "Aborted"


S = DeploymentStatus

# Where a deployment may go from each state. Anything else is refused.
TRANSITIONS = {
    S.PENDING: {S.AWAITING_APPROVAL, S.AWAITING_CHECKLIST, S.DEPLOYING, S.ABORTED},
    S.AWAITING_APPROVAL: {S.AWAITING_CHECKLIST, S.DEPLOYING, S.ABORTED},
    S.AWAITING_CHECKLIST: {S.DEPLOYING, S.ABORTED},
    S.DEPLOYING: {S.SMOKE_TESTING, S.FAILED, S.ABORTED, S.PAUSED},
    S.SMOKE_TESTING: {S.HEALTH_CHECKING, S.FAILED, S.ABORTED, S.PAUSED},
    S.HEALTH_CHECKING: {S.SHIFTING_TRAFFIC, S.SUCCEEDED, S.FAILED, S.ABORTED, S.PAUSED},
    S.SHIFTING_TRAFFIC: {S.VERIFYING, S.PAUSED, S.ROLLING_BACK},
    S.VERIFYING: {S.SUCCEEDED, S.PAUSED, S.ROLLING_BACK},
    S.PAUSED: {S.DEPLOYING, S.SMOKE_TESTING, S.HEALTH_CHECKING, S.SHIFTING_TRAFFIC, S.VERIFYING, S.ROLLING_BACK,
               S.ABORTED},
    S.ROLLING_BACK: {S.ROLLED_BACK, S.FAILED},
    S.SUCCEEDED: {S.ROLLING_BACK},  # a switch back to the standby slot (deployments.engine.switchback)
    S.ROLLED_BACK: set(),
    S.FAILED: set(),
    S.ABORTED: set(),
}  # fmt: skip

# Where a deployment's run ends. SUCCEEDED is final although a switch back may still leave it: nothing is in
# flight, so it holds no environment's "one active deployment" place.
FINAL = frozenset({S.SUCCEEDED, S.ROLLED_BACK, S.FAILED, S.ABORTED})
ACTIVE = frozenset(set(S) - FINAL)
# The engine works on these; PAUSED, AWAITING_APPROVAL and AWAITING_CHECKLIST wait for a person.
RUNNING = frozenset({S.PENDING, S.DEPLOYING, S.SMOKE_TESTING, S.HEALTH_CHECKING, S.SHIFTING_TRAFFIC, S.VERIFYING,
                     S.ROLLING_BACK})  # fmt: skip
# States in which the new slot may carry traffic.
WITH_TRAFFIC = frozenset({S.SHIFTING_TRAFFIC, S.VERIFYING, S.PAUSED, S.ROLLING_BACK})


class Color(models.TextChoices):
    BLUE = "blue", "Blue"
    GREEN = "green", "Green"


class SlotRole(models.TextChoices):
    LIVE = "live", "Live"
    IDLE = "idle", "Idle"
    STANDBY = "standby", "Standby (previous live, kept warm)"
    DEPLOYING = "deploying", "Deploying"
    FAILED = "failed", "Failed (drained, kept for investigation)"


class RefKind(models.TextChoices):
    BRANCH = "branch", "Branch"
    TAG = "tag", "Tag"


class Strategy(models.TextChoices):
    DIRECT = "direct", "Direct"
    BLUE_GREEN = "blue_green", "Blue-green"


class TriggerKind(models.TextChoices):
    ERROR_RATE = "error_rate", "5xx error rate"
    P95_LATENCY = "p95_latency", "p95 response time"
    HEALTH_CHECK = "health_check", "Consecutive health-check failures"


class TriggerAction(models.TextChoices):
    ROLLBACK = "rollback", "Automatic rollback"
    PAUSE = "pause", "Alert and pause for a manual decision"
    REMOVE = "remove", "Remove from load balancer"


class BalancerKind(models.TextChoices):
    HAPROXY = "haproxy", "HAProxy runtime API"
    MANUAL = "manual", "Manual (a person sets weights and confirms)"


class ExecutorKind(models.TextChoices):
    COMMAND = "command", "Command"
    WEBHOOK = "webhook", "Webhook POST"
    NONE = "none", "None (slots deploy themselves)"


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class ChecklistPhase(models.TextChoices):
    PRE = "pre", "Pre-deployment"
    DEPLOY = "deploy", "Deployment"
    POST = "post", "Post-deployment"


class Actor(models.TextChoices):
    PERSON = "person", "Person"
    ENGINE = "engine", "Engine"
    CI = "ci", "CI"
    HOOK = "hook", "Git hook"
