"""The actions people, CI and hooks take on deployments, and the timeline. Shared by admin, API and engine.

Every status change goes through core.status.change_status (the caller holds the row lock); its
timeline row is Deployment.record_status_change.
"""

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.status import change_status
from core.tasks import enqueue
from deployments.choices import (
    ACTIVE,
    Actor,
    ChecklistPhase,
    DeploymentStatus,
    RefKind,
    SlotRole,
    StepStatus,
)
from deployments.exceptions import DeploymentRefused, NotAllowed
from deployments.models import (
    ChecklistItem,
    Deployment,
    DeploymentChecklistItem,
    DeploymentEvent,
    DeploymentPolicy,
    DeploymentStep,
    Release,
    Slot,
)

S = DeploymentStatus

OPERATE_PERMISSION = "deployments.operate_deployment"
PRODUCTION_PERMISSION = "deployments.deploy_production"
APPROVE_PERMISSION = "deployments.approve_deployment"


# --- Who may do what ------------------------------------------------------------------------
# `user=None` is the console itself (the signed git hook, the engine, commands); a person or a token's user is
# always passed, and checked here, whichever door they came through.


def check_may_operate(user, environment):
    """Raise NotAllowed unless `user` may start or steer deployments in `environment` (no approval needed)."""
    if user is None:
        return
    if not user.has_perm(OPERATE_PERMISSION):
        raise NotAllowed(f"{user} may not operate deployments.")
    if environment.is_production and not user.has_perm(PRODUCTION_PERMISSION):
        raise NotAllowed(
            f"{user} may not operate production deployments: that needs the 'production deployments' permission."
        )


def needs_approval(policy) -> bool:
    return policy.four_eyes


def approval_refusal(deployment, user) -> str:
    """Why `user` may not approve `deployment`, or '' when they may. The admin hides the button on a refusal."""
    if deployment.status != S.AWAITING_APPROVAL:
        return f"Deployment #{deployment.pk} is {deployment.get_status_display().lower()}, not awaiting approval."
    if user is None or not user.has_perm(APPROVE_PERMISSION):
        return f"{user or 'Nobody'} may not approve deployments."
    if deployment.created_by_id is not None and user.pk == deployment.created_by_id:
        return "You requested this deployment: another person must approve it."
    return ""


def record(deployment, *, kind, detail, actor=Actor.ENGINE, user=None, old_status="", new_status=""):
    return DeploymentEvent.objects.create(
        deployment=deployment,
        at=timezone.now(),
        actor=actor,
        user=user,
        kind=kind,
        old_status=old_status,
        new_status=new_status,
        detail=detail,
    )


def enqueue_tick(deployment, *, countdown=0):
    """The engine's next tick for this run, on commit; a tick carrying a stale token exits."""
    enqueue("deployments.advance_deployment", deployment.pk, str(deployment.run_token), countdown=countdown)


def enqueue_post_deploy_checks(deployment):
    """The post-deployment checklist's first round (journeys, metrics, status page, stakeholders), on commit."""
    enqueue("postdeploy.run_checks", deployment.pk)


def new_run_token(deployment):
    deployment.run_token = uuid.uuid4()
    deployment.heartbeat_at = timezone.now()
    deployment.save(update_fields=["run_token", "heartbeat_at"])


# --- Releases ------------------------------------------------------------------------


def create_release(*, version, ref, ref_kind, commit="", changelog="", actor=Actor.PERSON, user=None):
    if ref_kind not in RefKind.values:
        raise DeploymentRefused(f"ref_kind must be one of {', '.join(RefKind.values)}.")
    release = Release(
        version=version.strip(),
        ref=ref.strip(),
        ref_kind=ref_kind,
        commit=commit,
        changelog=changelog,
        source=actor,
        created_by=user,
    )
    from django.core.exceptions import ValidationError

    try:
        release.full_clean()
    except ValidationError as exc:
        raise DeploymentRefused("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    release.save()
    return release


# --- Starting ----------------------------------------------------------------------------


def _steps_for(policy):
    from deployments.steps import pre_traffic_steps

    names = ["deploy", *(step.name for step in pre_traffic_steps(policy)), "smoke_tests", "health_checks"]
    if policy.is_blue_green:
        names += [f"traffic_{step.weight}" for step in policy.traffic_steps.all()]
    return names


RELEASE_NOTE_LIMIT = 1000


def start_deployment(*, release, environment, actor=Actor.PERSON, user=None, release_note=""):
    """Create a deployment of `release` into `environment` and hand it to the engine.

    Under four-eyes it waits in AWAITING_APPROVAL for a second person (approve_deployment) instead; requesting
    then needs only the operate permission, since nothing moves until someone else approves.
    """
    try:
        policy = environment.deployment_policy
    except DeploymentPolicy.DoesNotExist:
        raise DeploymentRefused(f"{environment} has no deployment policy: run seed_strategy.") from None
    if needs_approval(policy):
        if user is not None and not user.has_perm(OPERATE_PERMISSION):
            raise NotAllowed(f"{user} may not request deployments.")
    else:
        check_may_operate(user, environment)
    refusal = policy.refusal_for(release)
    if refusal:
        raise DeploymentRefused(refusal)
    release_note = (release_note or "").strip()
    if len(release_note) > RELEASE_NOTE_LIMIT:
        raise DeploymentRefused(
            f"The public release note is {len(release_note)} characters; keep it under {RELEASE_NOTE_LIMIT}."
        )
    from deployments.steps import start_refusals

    refusals = start_refusals(release=release, environment=environment)
    if refusals:
        raise DeploymentRefused(" ".join(refusals))

    from_slot = to_slot = None
    if policy.is_blue_green:
        slots = list(Slot.objects.filter(environment=environment))
        if len(slots) != 2:
            raise DeploymentRefused(f"{environment} needs a blue and a green slot for blue-green deployments.")
        live = [s for s in slots if s.role == SlotRole.LIVE]
        if len(live) != 1:
            raise DeploymentRefused(f"{environment} must have exactly one live slot; it has {len(live)}.")
        from_slot = live[0]
        to_slot = next(s for s in slots if s.pk != from_slot.pk)
        if not policy.traffic_steps.exists() or policy.traffic_steps.last().weight != 100:
            raise DeploymentRefused(f"{environment}'s traffic steps must end at 100%.")

    try:
        with transaction.atomic():
            deployment = Deployment.objects.create(
                release=release,
                environment=environment,
                strategy=policy.strategy,
                from_slot=from_slot,
                to_slot=to_slot,
                created_by=user,
                release_note=release_note,
            )
            DeploymentStep.objects.bulk_create(
                DeploymentStep(deployment=deployment, name=name, order=i) for i, name in enumerate(_steps_for(policy))
            )
            DeploymentChecklistItem.objects.bulk_create(
                DeploymentChecklistItem(deployment=deployment, item=item) for item in ChecklistItem.objects.all()
            )
    except IntegrityError:
        active = Deployment.objects.filter(environment=environment, status__in=ACTIVE).first()
        raise DeploymentRefused(
            f"{environment} already has a deployment in flight"
            + (f": #{active.pk} ({active.release}, {active.get_status_display().lower()})." if active else ".")
        ) from None

    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
        record(deployment, kind="note", actor=actor, user=user, detail=f"Created: {release} to {environment}.")
        _evaluate_checklist(deployment)
        if needs_approval(policy):
            change_status(
                deployment,
                S.AWAITING_APPROVAL,
                actor=actor,
                user=user,
                reason="Four-eyes: waits for a second person with the approve permission",
            )
        else:
            _begin_if_ready(deployment, policy, actor=actor, user=user)
    return deployment


# --- Four-eyes ---------------------------------------------------------------------------------


def approve(*, deployment_id, user, note=""):
    """A second person approves: the deployment goes on to its checklist or straight to the engine."""
    with transaction.atomic():
        deployment = _locked(deployment_id)
        refusal = approval_refusal(deployment, user)
        if refusal:
            raise NotAllowed(refusal) if deployment.status == S.AWAITING_APPROVAL else DeploymentRefused(refusal)
        reason = f"Approved by {user}" + (f": {note.strip()[:200]}" if (note or "").strip() else "")
        fields = {"approved_by": user, "approved_at": timezone.now()}
        _begin_if_ready(
            deployment, deployment.environment.deployment_policy, actor=Actor.PERSON, user=user, reason=reason,
            fields=fields,
        )  # fmt: skip
    return deployment


def reject(*, deployment_id, user, note=""):
    """A second person refuses: the deployment is aborted, with their reason. The requester aborts instead."""
    with transaction.atomic():
        deployment = _locked(deployment_id)
        refusal = approval_refusal(deployment, user)
        if refusal:
            raise NotAllowed(refusal) if deployment.status == S.AWAITING_APPROVAL else DeploymentRefused(refusal)
        reason = f"Rejected by {user}" + (f": {note.strip()[:200]}" if (note or "").strip() else "")
        change_status(deployment, S.ABORTED, actor=Actor.PERSON, user=user, reason=reason)
        deployment.steps.update(status=StepStatus.SKIPPED, finished_at=timezone.now())
    return deployment


def set_four_eyes(*, policy_id, enabled, user, reason):
    """Turn four-eyes on or off for one environment; who, when and why are kept on the policy and in its history."""
    if not isinstance(enabled, bool):
        raise DeploymentRefused(f"Four-eyes is on or off, not {enabled!r}.")
    reason = (reason or "").strip()
    if not reason:
        raise DeploymentRefused("Give a reason: it is kept with the switch.")
    if user is None or not user.has_perm("deployments.change_deploymentpolicy"):
        raise NotAllowed(f"{user or 'Nobody'} may not change deployment policies.")
    with transaction.atomic():
        policy = DeploymentPolicy.objects.select_for_update().get(pk=policy_id)
        if policy.four_eyes == enabled:
            return policy
        policy.four_eyes = enabled
        policy.four_eyes_changed_by, policy.four_eyes_changed_at = user, timezone.now()
        policy.four_eyes_reason = reason[:200]
        policy._history_user = user
        policy._change_reason = f"Four-eyes turned {'on' if enabled else 'off'}: {reason}"[:100]
        policy.save(update_fields=["four_eyes", "four_eyes_changed_by", "four_eyes_changed_at", "four_eyes_reason"])
    return policy


def _pre_items_unchecked(deployment):
    return list(
        deployment.checklist.filter(item__phase=ChecklistPhase.PRE, checked_at__isnull=True).values_list(
            "item__text", flat=True
        )
    )


def _begin_if_ready(deployment, policy, *, actor, user, reason="", fields=None):
    if policy.checklist_required and _pre_items_unchecked(deployment):
        if deployment.status in {S.PENDING, S.AWAITING_APPROVAL}:
            change_status(deployment, S.AWAITING_CHECKLIST, actor=actor, user=user, reason=reason, fields=fields)
        return
    change_status(deployment, S.DEPLOYING, actor=actor, user=user, reason=reason, fields=fields)
    new_run_token(deployment)
    enqueue_tick(deployment)


# --- Checklist -------------------------------------------------------------------------------


def check_item(*, deployment_id, item_key, actor=Actor.PERSON, user=None):
    """Tick a pre- or post-deployment checklist item; starts the engine once the pre-deployment list is done."""
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
        try:
            entry = deployment.checklist.select_related("item").get(item__key=item_key)
        except DeploymentChecklistItem.DoesNotExist:
            raise DeploymentRefused(f"No checklist item {item_key!r}.") from None
        if entry.item.phase == ChecklistPhase.DEPLOY:
            raise DeploymentRefused(f"“{entry.item}” is ticked by the engine when its step passes.")
        if actor == Actor.CI and not entry.item.ci_settable:
            raise DeploymentRefused(f"“{entry.item}” must be checked by a person.")
        if actor == Actor.PERSON and user is None:
            raise DeploymentRefused("A person's check needs the person.")
        if user is not None and not user.has_perm("deployments.check_checklist"):
            raise NotAllowed(f"{user} may not check deployment checklist items.")
        if entry.checked:
            return entry
        entry.checked_at, entry.checked_by, entry.source = timezone.now(), user, actor
        entry.save(update_fields=["checked_at", "checked_by", "source"])
        record(deployment, kind="checklist", actor=actor, user=user, detail=f"Checked: {entry.item}")
        if deployment.status == S.AWAITING_CHECKLIST and not _pre_items_unchecked(deployment):
            _begin_if_ready(deployment, deployment.environment.deployment_policy, actor=actor, user=user)
        return entry


def _evaluate_checklist(deployment):
    from deployments.steps import checklist_evaluators

    for key, evaluator in checklist_evaluators().items():
        if evaluator(deployment) and tick_engine_item(deployment, key):
            item = ChecklistItem.objects.get(key=key)
            record(deployment, kind="checklist", detail=f"Checked by the console: {item}")


def tick_engine_item(deployment, key):
    return DeploymentChecklistItem.objects.filter(deployment=deployment, item__key=key, checked_at__isnull=True).update(
        checked_at=timezone.now(), source=Actor.ENGINE
    )


# --- People's decisions ---------------------------------------------------------------------------


def _locked(deployment_id):
    return Deployment.objects.select_for_update(of=("self",)).select_related("environment").get(pk=deployment_id)


def _withdraws_own_request(deployment, user):
    """The requester may abort their own deployment while it awaits approval, production or not."""
    return (
        user is not None
        and deployment.status == S.AWAITING_APPROVAL
        and deployment.created_by_id == user.pk
        and user.has_perm(OPERATE_PERMISSION)
    )


def continue_deployment(*, deployment_id, user, reason=""):
    with transaction.atomic():
        deployment = _locked(deployment_id)
        check_may_operate(user, deployment.environment)
        if deployment.status != S.PAUSED:
            raise DeploymentRefused(f"Deployment #{deployment.pk} is not paused.")
        resume_to = deployment.paused_from or S.SHIFTING_TRAFFIC
        change_status(
            deployment,
            resume_to,
            actor=Actor.PERSON,
            user=user,
            reason=f"Continued by {user}: {reason}" if reason else "Continued by a person",
            # The window that paused it starts afresh: the decision is not a pass for stale samples.
            fields={"paused_from": "", "pause_reason": "", "hold_started_at": timezone.now()},
        )
        new_run_token(deployment)
        enqueue_tick(deployment)
    return deployment


def roll_back_now(*, deployment_id, user, reason="Roll back now (manual)"):
    with transaction.atomic():
        deployment = _locked(deployment_id)
        check_may_operate(user, deployment.environment)
        if deployment.status == S.ROLLING_BACK:
            return deployment
        if deployment.status not in {S.SHIFTING_TRAFFIC, S.VERIFYING, S.PAUSED, S.SUCCEEDED}:
            raise DeploymentRefused(
                f"Deployment #{deployment.pk} is {deployment.get_status_display().lower()}: "
                "there is no traffic to roll back. Abort it instead."
            )
        if deployment.status == S.SUCCEEDED:
            raise DeploymentRefused("A succeeded deployment is switched back to its standby slot: use Switch back.")
        from deployments.engine.rollback import begin_rollback  # the engine imports services: import on use

        begin_rollback(
            deployment,
            reason=reason,
            timeline_reason=f"Roll back now by {user}: {reason}" if user is not None else reason,
            detected_at=deployment.detected_at or timezone.now(),
            automatic=False,
            actor=Actor.PERSON,
            user=user,
        )
    return deployment


SWITCH_BACK_TASK = "deployments.switch_back"


def switch_back_refusal(deployment, user) -> str:
    """Why `user` may not switch `deployment` back now, or '' when they may. The admin shows the button on ''."""
    try:
        check_may_operate(user, deployment.environment)
    except NotAllowed as exc:
        return str(exc)
    from deployments.engine.switchback import refusal  # the engine imports services: import on use

    return refusal(deployment)


def switch_back(*, deployment_id, user, reason, actor=Actor.PERSON):
    """Ask for all traffic back on the standby slot, which still holds the previous release (§5's manual rollback).

    Checked and recorded now (the reason goes into the timeline); the `deployments` queue carries it out:
    3 health probes of the standby, then the weights, read back at the load balancer. Nothing moves on a refusal.
    """
    reason = " ".join((reason or "").split())
    if not reason:
        raise DeploymentRefused("Give a reason for the switch back: it goes into the timeline and the incident.")
    if len(reason) > 300:
        raise DeploymentRefused(f"Keep the reason to 300 characters (it has {len(reason)}).")
    with transaction.atomic():
        deployment = _locked(deployment_id)
        check_may_operate(user, deployment.environment)
        from deployments.engine.switchback import refusal

        why = refusal(deployment)
        if why:
            raise DeploymentRefused(why)
        requested = record(deployment, kind="note", actor=actor, user=user, detail=f"Switch back requested: {reason}")
        enqueue(
            SWITCH_BACK_TASK, deployment.pk, requested.at.isoformat(), user.pk if user else None, reason, str(actor)
        )
    return deployment


def confirm_weights(*, deployment_id, user):
    """A person confirms they set the weights the engine asked for on a manual load balancer."""
    with transaction.atomic():
        deployment = _locked(deployment_id)
        check_may_operate(user, deployment.environment)
        if not deployment.awaiting_weights:
            raise DeploymentRefused(f"Deployment #{deployment.pk} is not waiting for weights.")
        set_weights = deployment.awaiting_weights
        deployment.awaiting_weights = ""
        deployment.weights_confirmed_at = deployment.hold_started_at = timezone.now()
        deployment.save(update_fields=["awaiting_weights", "weights_confirmed_at", "hold_started_at"])
        record(deployment, kind="traffic", actor=Actor.PERSON, user=user, detail=f"Weights set: {set_weights}")
        enqueue_tick(deployment)
    return deployment


def abort(*, deployment_id, user, reason="Aborted by a person"):
    with transaction.atomic():
        deployment = _locked(deployment_id)
        if not _withdraws_own_request(deployment, user):
            check_may_operate(user, deployment.environment)
        if deployment.traffic_weight > 0:
            raise DeploymentRefused(
                f"Deployment #{deployment.pk} has {deployment.traffic_weight}% of traffic on the new slot: "
                "roll it back instead."
            )
        change_status(deployment, S.ABORTED, actor=Actor.PERSON, user=user, reason=reason)
        new_run_token(deployment)  # any queued engine tick now exits
        deployment.steps.filter(status__in=[StepStatus.PENDING, StepStatus.RUNNING]).update(
            status=StepStatus.SKIPPED, finished_at=timezone.now()
        )
        if deployment.to_slot_id:
            # Only a slot this deployment was changing: a standby it never touched keeps the previous release.
            Slot.objects.filter(pk=deployment.to_slot_id).exclude(role=SlotRole.STANDBY).update(role=SlotRole.IDLE)
    return deployment


# --- Setup -----------------------------------------------------------------------------------


MARK_LIVE_PERMISSION = "deployments.change_slot"


def mark_live_slot(*, slot_id, user, reason):
    """Once, at setup: name the slot that serves the environment when none is live (slots are added idle).

    After that only the engine moves the live role (a deployment's switch, a rollback). Refused while another slot
    is live or a deployment is in flight; the reason goes into the slot's history and the audit.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DeploymentRefused("Give a reason: it is kept in the slot's history.")
    if user is None or not user.has_perm(MARK_LIVE_PERMISSION):
        raise NotAllowed(f"{user or 'Nobody'} may not mark a live slot: that needs the 'change slot' permission.")
    with transaction.atomic():
        slot = Slot.objects.select_related("environment").get(pk=slot_id)
        slots = list(Slot.objects.select_for_update().filter(environment_id=slot.environment_id).order_by("pk"))
        live = [s for s in slots if s.role == SlotRole.LIVE]
        if live:
            raise DeploymentRefused(
                f"{slot.environment} already has a live slot ({live[0].color}); deployments move it from now on."
            )
        if Deployment.objects.filter(environment_id=slot.environment_id, status__in=ACTIVE).exists():
            raise DeploymentRefused(f"{slot.environment} has a deployment in flight: let it end first.")
        slot = next(s for s in slots if s.pk == slot.pk)
        slot.role = SlotRole.LIVE
        slot._history_user = user
        slot._change_reason = f"Marked live by {user}: {reason}"[:100]
        slot.save(update_fields=["role"])
    return slot
