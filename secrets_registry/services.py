"""Write paths of the secrets registry: checks, manual rotation marks, rotation requests and their steps.

Keyword-only functions behind permissions; admin, commands and tasks call these. No function here returns,
stores or logs a secret's value: values exist only inside rotation.py's steps, for the length of one step.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.status import change_status, record_creation
from core.tasks import enqueue
from secrets_registry import alerting, conf, rotation
from secrets_registry.choices import (
    ACTIVE_RUN_STATUSES,
    NEXT_STEP,
    STEP_AUDIT,
    ActorKind,
    AuditAction,
    CheckStatus,
    RotationKind,
    RotationStep,
    RunStatus,
)
from secrets_registry.drivers import manager as default_manager
from secrets_registry.drivers.base import ManagerError, ManagerUnavailable, SecretNotFound
from secrets_registry.exceptions import RotationRefused, SecretsError
from secrets_registry.models import AccessAudit, RotationRun, SecretReference

logger = logging.getLogger(__name__)
SOURCE = "secrets_registry"
STEP_TASK = "secrets_registry.rotation_step"
ALERT_MISSING = "SecretMissing"
ALERT_NOT_REPLICATED = "SecretNotReplicated"
ALERT_OVERDUE = "SecretRotationOverdue"
ALERT_UNCHECKED = "SecretCheckFailed"
ALERT_DUE_SOON = "SecretRotationDueSoon"
ALERTS = (ALERT_MISSING, ALERT_NOT_REPLICATED, ALERT_OVERDUE, ALERT_UNCHECKED)
# A manual-kind secret is someone's job at a provider's dashboard: they are reminded a week before it is due.
REMINDER_BEFORE = timedelta(days=7)


class _Managers:
    """One driver per region (a reference names its own), or the one a caller passed in (tests, bench)."""

    def __init__(self, given=None):
        self.given, self.by_region = given, {}

    def __call__(self, reference):
        if self.given is not None:
            return self.given
        if reference.region not in self.by_region:
            self.by_region[reference.region] = default_manager(region=reference.region)
        return self.by_region[reference.region]


def _require(user, perm):
    if user is not None and not user.has_perm(f"secrets_registry.{perm}"):
        raise PermissionDenied(f"You need the permission secrets_registry.{perm}.")


def _actor(user, default="console"):
    return (ActorKind.USER, user.get_username()) if user is not None else (ActorKind.TASK, default)


def record_access(*, reference, action, actor_kind, actor, user=None, version_id="", detail=""):
    """One audit row: who or what, which action, which secret and version. Never a value."""
    return AccessAudit.objects.create(
        reference=reference, secret_name=reference.name, action=action, actor_kind=actor_kind, actor=actor[:150],
        user=user, version_id=version_id or "", detail=detail[:500],
    )  # fmt: skip


# --- Existence and drift ------------------------------------------------------------------------------


@dataclass
class CheckReport:
    ok: list[str] = field(default_factory=list)
    failing: dict[str, list[str]] = field(default_factory=dict)  # manager name -> problems

    @property
    def passed(self):
        return not self.failing

    def summary(self):
        if self.passed:
            return f"{len(self.ok)} secrets ok"
        names = "; ".join(f"{name}: {', '.join(problems)}" for name, problems in self.failing.items())
        return f"{len(self.failing)} failing, {len(self.ok)} ok: {names}"


def problems_of(reference, now=None):
    """(alert name, severity, text) for what is wrong with a reference, from what the last check recorded."""
    found = []
    if reference.exists is False:
        found.append((ALERT_MISSING, "critical", f"not found in the manager ({reference.region})"))
    elif reference.exists and not reference.has_current:
        found.append((ALERT_MISSING, "critical", "no AWSCURRENT version"))
    if reference.exists and reference.replicated is False:
        found.append((ALERT_NOT_REPLICATED, "warning", f"not replicated to the DR region {conf.dr_region()}"))
    if reference.is_overdue(now):
        found.append((ALERT_OVERDUE, "warning", f"rotation overdue since {reference.next_due:%Y-%m-%d}"))
    return found


def rotation_reminder(reference, now=None):
    """The reminder text for a manual-kind secret due within a week (and not yet overdue), or ''."""
    now = now or timezone.now()
    due = reference.next_due
    if reference.rotation_kind != RotationKind.MANUAL or due is None or due <= now or due - now > REMINDER_BEFORE:
        return ""
    return f"manual rotation due {due:%Y-%m-%d}: rotate it at the provider, then mark it rotated"


def _evaluate(reference, *, unreachable="", now=None):
    """Set the row's status from its recorded facts, and raise or resolve one alert per kind of problem."""
    found = problems_of(reference, now)
    if unreachable:
        found.append((ALERT_UNCHECKED, "warning", unreachable))
    reference.check_status = CheckStatus.FAILING if found else CheckStatus.OK
    reference.check_detail = "\n".join(text for _, _, text in found)
    # update(), not save(): check results are not edits, and stay out of the reference's history.
    SecretReference.objects.filter(pk=reference.pk).update(check_status=reference.check_status,
                                                           check_detail=reference.check_detail)  # fmt: skip
    labels = {"secret": reference.name}
    failing = {name for name, _, _ in found}
    for name, severity, text in found:
        alerting.raise_alert(environment=reference.environment, name=name, severity=severity, source=SOURCE,
                             summary=f"{reference.name}: {text}", labels=labels)  # fmt: skip
    for name in set(ALERTS) - failing:
        alerting.resolve_alert(environment=reference.environment, name=name, labels=labels)
    # The reminder is an alert (on-call is told) but not a failing check: the secret is still in date.
    reminder = rotation_reminder(reference, now)
    if reminder:
        alerting.raise_alert(environment=reference.environment, name=ALERT_DUE_SOON, severity="warning",
                             source=SOURCE, summary=f"{reference.name}: {reminder}", labels=labels)  # fmt: skip
    else:
        alerting.resolve_alert(environment=reference.environment, name=ALERT_DUE_SOON, labels=labels)
    return [text for _, _, text in found]


def check_reference(*, reference, manager=None, now=None):
    """Ask the manager about one reference (metadata only) and record exists / current / replicated."""
    manager = manager or default_manager(region=reference.region)
    now = now or timezone.now()
    unreachable = ""
    try:
        description = manager.describe(reference.name)
    except SecretNotFound:
        reference.exists, reference.has_current, reference.replicated = False, False, None
        reference.current_version_id = ""
    except ManagerError as exc:
        unreachable = f"not checked: {exc}"
    else:
        reference.exists = True
        reference.arn = description.arn or reference.arn
        reference.current_version_id = description.current_version_id or ""
        reference.has_current = bool(description.current_version_id)
        reference.replicated = description.replicas.get(conf.dr_region()) == "InSync"
    reference.last_checked_at = now
    with transaction.atomic():
        SecretReference.objects.filter(pk=reference.pk).update(
            exists=reference.exists, has_current=reference.has_current, replicated=reference.replicated,
            current_version_id=reference.current_version_id, arn=reference.arn, last_checked_at=now,
        )  # fmt: skip
        return _evaluate(reference, unreachable=unreachable, now=now)


def check_secrets(*, environment=None, references=None, user=None, manager=None) -> CheckReport:
    """The existence and drift check, for one environment, some references or all: daily on beat, from the
    admin, by command."""
    _require(user, "check_secrets")
    managers = _Managers(manager)
    references = (references if references is not None else SecretReference.objects).select_related("environment")
    if environment is not None:
        references = references.filter(environment=environment)
    report = CheckReport()
    for reference in references:
        try:
            manager_for = managers(reference)
        except Exception as exc:  # noqa: BLE001 - a misconfigured driver is a red check, said plainly
            problems = _evaluate(reference, unreachable=f"not checked: {type(exc).__name__}")
        else:
            problems = check_reference(reference=reference, manager=manager_for)
        if problems:
            report.failing[reference.name] = problems
        else:
            report.ok.append(reference.name)
    return report


@dataclass
class VariableSecrets:
    environment: str
    ok: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def passed(self):
        return not self.missing


def check_environment_secrets(environment, *, manager=None) -> VariableSecrets:
    """Every §7 variable of `environment` resolves to a reference that exists in the manager with a current
    version. Reads no value and changes nothing (`check_env --secrets`, the deployment checklist)."""
    report = VariableSecrets(environment=environment.name)
    references = {r.variable: r for r in SecretReference.objects.filter(environment=environment)}
    # Variables with an expected value (DEBUG=true) are plain settings, not secrets.
    variables = environment.required_variables.filter(expected_value="").order_by("name")
    managers = _Managers(manager)
    for variable in variables:
        reference = references.get(variable.name)
        if reference is None:
            report.missing.append(f"{variable.name}: no secret reference")
            continue
        try:
            description = managers(reference).describe(reference.name)
        except SecretNotFound:
            report.missing.append(f"{variable.name}: {reference.name} not found in the manager")
            continue
        except ManagerError as exc:
            report.missing.append(f"{variable.name}: {reference.name} not checked ({exc})")
            continue
        except Exception as exc:  # noqa: BLE001 - a misconfigured driver is a failed check, said plainly
            report.missing.append(f"{variable.name}: {reference.name} not checked ({type(exc).__name__})")
            continue
        if not description.current_version_id:
            report.missing.append(f"{variable.name}: {reference.name} has no AWSCURRENT version")
        else:
            report.ok.append(f"{variable.name}: {reference.name}")
    return report


# --- Manual rotation ------------------------------------------------------------------------------------


def mark_rotated(*, reference_id, user, note):
    """A person rotated a third-party key at its provider: record it, with a note, and clear the overdue alert."""
    _require(user, "mark_rotated")
    note = (note or "").strip()
    if not note:
        raise SecretsError("Say what was done in a note (e.g. 'rolled in the Stripe dashboard, ticket OPS-12').")
    with transaction.atomic():
        reference = SecretReference.objects.select_for_update().select_related("environment").get(pk=reference_id)
        if reference.rotation_kind != RotationKind.MANUAL:
            raise SecretsError(f"{reference.name} is not rotated by hand ({reference.get_rotation_kind_display()}).")
        reference.last_rotated_at = timezone.now()
        reference.save(update_fields=["last_rotated_at"])
        kind, actor = _actor(user)
        record_access(reference=reference, action=AuditAction.MARK_ROTATED, actor_kind=kind, actor=actor, user=user,
                      version_id=reference.current_version_id, detail=note)  # fmt: skip
        _evaluate(reference)
    return reference


# --- Automatic rotation -----------------------------------------------------------------------------------


def request_rotation(*, reference_id, user=None, via="admin"):
    """Start a rotation; production waits for a second person's approval."""
    _require(user, "rotate_secrets")
    reference = SecretReference.objects.select_related("environment").get(pk=reference_id)
    if reference.rotation_kind != RotationKind.AUTOMATIC:
        raise RotationRefused(f"{reference.name} is not rotated by the console: mark it rotated instead.")
    try:
        reference.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:  # the target is incomplete
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        raise RotationRefused(f"{reference.name} cannot be rotated: {problems}") from None
    status = RunStatus.AWAITING_APPROVAL if reference.environment.is_production else RunStatus.QUEUED
    kind, actor = _actor(user, via)
    try:
        with transaction.atomic():
            run = RotationRun.objects.create(reference=reference, status=status, token=str(uuid.uuid4()),
                                             requested_by=user, requested_via=via)  # fmt: skip
            record_creation(run, actor=actor, user=user, reason=f"requested via {via}")
            if status == RunStatus.QUEUED:
                enqueue(STEP_TASK, run.pk)
    except IntegrityError:
        active = reference.rotations.filter(status__in=ACTIVE_RUN_STATUSES).first()
        what = f"#{active.pk} {active.get_status_display().lower()}" if active else "in progress"
        raise RotationRefused(f"{reference.name} already has a rotation {what}.") from None
    return run


def approve_rotation(*, run_id, user):
    _require(user, "approve_production_rotation")
    if user is None:
        raise PermissionDenied("A production rotation is approved by a person.")
    run = RotationRun.objects.select_related("reference").get(pk=run_id)
    if run.status != RunStatus.AWAITING_APPROVAL:
        raise RotationRefused(f"Rotation #{run.pk} is {run.get_status_display().lower()}: nothing to approve.")
    if run.requested_by_id == user.pk:
        raise RotationRefused("A second person approves a production rotation: you requested this one.")
    with transaction.atomic():
        change_status(run, RunStatus.QUEUED, actor=user.get_username(), user=user, reason="approved",
                      fields={"approved_by": user})  # fmt: skip
        enqueue(STEP_TASK, run.pk)
    return run


def reject_rotation(*, run_id, user, reason=""):
    _require(user, "approve_production_rotation")
    if user is None:
        raise PermissionDenied("A production rotation is rejected by a person.")
    run = RotationRun.objects.get(pk=run_id)
    change_status(run, RunStatus.REJECTED, actor=user.get_username(), user=user, reason=reason or "rejected")
    return run


def advance_rotation(*, run_id, manager=None, actor="secrets_registry.rotation_step"):
    """Do the run's current step, record it, and queue the next. Idempotent: a step done twice changes nothing
    more, and a worker killed mid-step leaves the step to redo (its row lock dies with its connection)."""
    with transaction.atomic():
        run = (RotationRun.objects.select_for_update(skip_locked=True, of=("self",))
               .select_related("reference__environment").filter(pk=run_id).first())  # fmt: skip
        if run is None:
            return None  # another worker holds it, or it does not exist
        if run.status == RunStatus.QUEUED:
            change_status(run, RunStatus.RUNNING, actor=actor, reason="worker started")
        if run.status != RunStatus.RUNNING:
            return run
        reference, step = run.reference, run.step
        manager = manager or default_manager(region=reference.region)
        try:
            rotation.perform(run, manager)
        except ManagerUnavailable:
            raise  # transient: the task retries this step
        except (rotation.StepFailed, ManagerError) as exc:
            return _fail(run, manager, step, str(exc), actor)
        except Exception as exc:  # noqa: BLE001 - its message might quote a value: only its type is kept
            logger.error("rotation #%s failed at %s: %s", run.pk, step, type(exc).__name__)
            return _fail(run, manager, step, f"unexpected {type(exc).__name__}", actor)
        record_access(reference=reference, action=STEP_AUDIT[step], actor_kind=ActorKind.TASK, actor=actor,
                      user=run.approved_by or run.requested_by, version_id=run.pending_version_id,
                      detail=f"rotation #{run.pk}")  # fmt: skip
        run.step = NEXT_STEP[step]
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["step", "heartbeat_at", "pending_version_id", "previous_version_id"])
        if run.step != RotationStep.DONE:
            enqueue(STEP_TASK, run.pk)
            return run
        reference.last_rotated_at = timezone.now()
        reference.current_version_id = run.pending_version_id
        reference.save(update_fields=["last_rotated_at", "current_version_id"])
        change_status(run, RunStatus.SUCCEEDED, actor=actor, reason=f"AWSCURRENT is version {run.pending_version_id}")
        _evaluate(reference)
    return run


def _fail(run, manager, step, reason, actor):
    """Fail the run with its reason; once the target may have the pending value, put it back on AWSCURRENT."""
    if step != RotationStep.CREATE:
        try:
            version = rotation.revert_target(run, manager)
        except (rotation.StepFailed, ManagerError) as exc:
            reason = f"{reason}; putting the target back on AWSCURRENT failed too: {exc}"
        except Exception as exc:  # noqa: BLE001 - as above: the type only
            reason = f"{reason}; putting the target back on AWSCURRENT failed too: {type(exc).__name__}"
        else:
            record_access(reference=run.reference, action=AuditAction.ROTATE_REVERT, actor_kind=ActorKind.TASK,
                          actor=actor, version_id=version, detail=f"rotation #{run.pk} failed at {step}")  # fmt: skip
    reason = f"{run.get_step_display()}: {reason}"[:500]
    change_status(run, RunStatus.FAILED, actor=actor, reason=reason, fields={"reason": reason})
    return run


def resume_rotation(*, run_id, user=None):
    """Queue a queued or running run's current step again (after a worker died). Safe while it is running."""
    _require(user, "rotate_secrets")
    run = RotationRun.objects.get(pk=run_id)
    if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        raise SecretsError(f"Rotation #{run.pk} is {run.get_status_display().lower()}: nothing to resume.")
    enqueue(STEP_TASK, run.pk)
    return run


def resume_stalled_rotations(*, stale_after=None):
    """On beat: runs whose worker has not moved them for `stale_after` seconds get their step queued again."""
    cutoff = timezone.now() - timedelta(seconds=stale_after if stale_after is not None else conf.stale_after())
    stalled = RotationRun.objects.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING), created_at__lt=cutoff)
    stalled = stalled.exclude(heartbeat_at__gte=cutoff)
    ids = list(stalled.values_list("pk", flat=True))
    for pk in ids:
        enqueue(STEP_TASK, pk)
    return ids


def rotate_due(*, user=None, environment=None):
    """Request a rotation of every automatic secret that is due (on beat daily): production ones await approval."""
    _require(user, "rotate_secrets")
    runs = []
    references = SecretReference.objects.filter(rotation_kind=RotationKind.AUTOMATIC).select_related("environment")
    if environment is not None:
        references = references.filter(environment=environment)
    for reference in references:
        if reference.is_overdue() and not reference.rotations.filter(status__in=ACTIVE_RUN_STATUSES).exists():
            try:
                via = "beat" if user is None else "admin"
                runs.append(request_rotation(reference_id=reference.pk, user=user, via=via))
            except RotationRefused:
                continue
    return runs
