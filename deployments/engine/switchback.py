"""Switch back: a succeeded deployment's traffic back to the standby slot, which still holds the previous release.

§5's manual rollback ("route traffic to previous version") without a new deployment. The standby slot's
health is probed 3 times before any traffic moves; then begin_rollback decides and roll_back carries it out
(weights set and read back at the load balancer, the new slot drained but kept running, the slots' roles
swapped, the incident opened on commit). Refused, with nothing moved, when the standby no longer holds the
previous release.

The bake period (watch): after 100%, the same run's ticks keep sampling the live slot and evaluating §5's
triggers until `watching_until`. A rollback trigger (5xx, health) switches back at once; a pause trigger (p95)
alerts and waits for a person, since a succeeded deployment has nothing to pause.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from deployments import services
from deployments.choices import ACTIVE, Actor, DeploymentStatus, SlotRole, TriggerAction
from deployments.drivers import balancer_for
from deployments.engine.base import S, alert, locked, next_tick, probe, resolve
from deployments.engine.checks import health_probe
from deployments.engine.rollback import begin_rollback, roll_back
from deployments.engine.traffic import DRIFT_ALERT, sample, weight_drift
from deployments.engine.triggers import evaluate
from deployments.exceptions import DriverError
from deployments.models import Deployment

STANDBY_PROBES = 3
BAKE_ALERT = "DeploymentBakeBreach"
REFUSED_ALERT = "DeploymentSwitchBackRefused"


@dataclass(frozen=True)
class Standing:
    """What decides whether a deployment may be switched back: read from the database by `standing`."""

    pk: int
    status: str
    release: str
    blue_green: bool
    standby_color: str = ""
    standby_role: str = ""
    standby_release: str = ""  # the version the standby slot holds, "" when none
    in_flight: int | None = None  # another deployment active in the environment
    later_succeeded: int | None = None  # a succeeded deployment of the environment newer than this one


def refusal_rule(s: Standing) -> str:
    """Why this deployment may not be switched back, or '' when it may. Plain words: the person reads them."""
    if s.status != DeploymentStatus.SUCCEEDED:
        label = DeploymentStatus(s.status).label.lower()
        return f"Deployment #{s.pk} is {label}: only a succeeded deployment can be switched back."
    if not s.blue_green:
        return f"Deployment #{s.pk} was direct: there is no standby slot to switch back to."
    if s.later_succeeded:
        return (
            f"Deployment #{s.later_succeeded} succeeded after #{s.pk}: it is no longer the environment's latest "
            "release, and its standby slot has moved on. Deploy the release you want instead."
        )
    if s.in_flight:
        return (
            f"Deployment #{s.in_flight} is in flight in this environment and may be changing the standby slot: "
            "let it finish or abort it first."
        )
    if s.standby_role != SlotRole.STANDBY or not s.standby_release or s.standby_release == s.release:
        holds = f"holds {s.standby_release}" if s.standby_release else "holds no release"
        return (
            f"The standby slot {s.standby_color} no longer holds the previous release (it is "
            f"{SlotRole(s.standby_role).label.lower() if s.standby_role else 'unknown'} and {holds}): "
            "nothing to switch back to."
        )
    return ""


def standing(deployment) -> Standing:
    if not (deployment.from_slot_id and deployment.to_slot_id):
        return Standing(deployment.pk, deployment.status, str(deployment.release), blue_green=False)
    others = Deployment.objects.filter(environment_id=deployment.environment_id).exclude(pk=deployment.pk)
    standby = deployment.from_slot
    standby.refresh_from_db(fields=["role", "release"])
    return Standing(
        pk=deployment.pk,
        status=deployment.status,
        release=str(deployment.release),
        blue_green=True,
        standby_color=standby.color,
        standby_role=standby.role,
        standby_release=str(standby.release) if standby.release_id else "",
        in_flight=others.filter(status__in=sorted(ACTIVE)).values_list("pk", flat=True).first(),
        later_succeeded=others.filter(status=S.SUCCEEDED, created_at__gt=deployment.created_at)
        .values_list("pk", flat=True)
        .first(),
    )


def refusal(deployment) -> str:
    return refusal_rule(standing(deployment))


def probe_standby(deployment, policy):
    """The standby slot's health path, STANDBY_PROBES times: all must pass before any traffic moves."""
    url = f"{deployment.from_slot.base_url}/{policy.health_path.lstrip('/')}"
    return [probe(url) for _ in range(STANDBY_PROBES)]


def switch_back(
    deployment,
    *,
    reason,
    detected_at,
    automatic,
    actor=Actor.ENGINE,
    user=None,
    trigger=None,
    decided_at=None,
    timeline_reason=None,
):
    """All traffic back to the standby slot, now. The caller holds the row lock. Returns the outcome.

    Refused (nothing moves, the timeline says why) when the rules refuse or the standby fails a probe.
    """
    why = refusal(deployment)
    if why:
        services.record(deployment, kind="alert", actor=actor, user=user, detail=f"Switch back refused: {why}")
        return f"refused: {why}"
    policy = deployment.environment.deployment_policy
    probes = probe_standby(deployment, policy)
    report = "\n".join(("pass  " if p.ok else "FAIL  ") + p.detail for p in probes)
    old, new = deployment.from_slot, deployment.to_slot
    if not all(p.ok for p in probes):
        detail = (
            f"Switch back refused: the standby slot {old.color} failed {sum(not p.ok for p in probes)} of "
            f"{len(probes)} health probes; all traffic stays on {new.color}.\n{report}"
        )
        services.record(deployment, kind="alert", actor=actor, user=user, detail=detail)
        alert(deployment, name=REFUSED_ALERT, summary=f"Deployment #{deployment.pk}: {detail}")
        return f"refused: standby {old.color} unhealthy"
    services.record(deployment, kind="note", detail=f"Standby {old.color} healthy before the switch back:\n{report}")
    verb = "Automatic switch back" if automatic else "Switch back"
    begin_rollback(
        deployment,
        reason=reason,
        timeline_reason=timeline_reason or f"{verb} to {old.color} ({old.release}): {reason}",
        detected_at=detected_at,
        decided_at=decided_at,
        automatic=automatic,
        actor=actor,
        user=user,
        trigger=trigger,
        hand_over=False,  # carried out in this tick: the weights move now, under the lock
    )
    return roll_back(deployment)


def carry_out(deployment_id, *, requested_at, user_id, reason, actor=Actor.PERSON):
    """A person's switch back, queued by services.switch_back: idempotent (done or moved on: nothing to do)."""
    from django.contrib.auth import get_user_model

    with transaction.atomic():
        try:
            deployment = locked(deployment_id)
        except Deployment.DoesNotExist:
            return "gone"
        if deployment.status != S.SUCCEEDED:
            return f"nothing to do: {deployment.status}"
        user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
        return switch_back(
            deployment,
            reason=reason,
            # A p95 alert in the bake period detected it; otherwise the person did, when they asked.
            detected_at=deployment.detected_at or requested_at,
            decided_at=requested_at,
            automatic=False,
            actor=actor,
            user=user,
        )


# --- The bake period ---------------------------------------------------------------------------


def watch(deployment):
    """One tick of the bake period: sample the live slot, evaluate the triggers, act on a breach."""
    policy = deployment.environment.deployment_policy
    now = timezone.now()
    if deployment.watching_until is None or now >= deployment.watching_until:
        resolve(deployment, name=DRIFT_ALERT)
        over = f"Bake period over: {deployment.to_slot.color} stays live."
        if not deployment.events.filter(kind="note", detail=over).exists():  # a duplicate tick says nothing twice
            services.record(deployment, kind="note", detail=over)
        return "bake period over"
    why = refusal(deployment)
    if why:  # a newer deployment took the standby slot: nothing left to switch back to, so nothing to watch for
        services.record(deployment, kind="note", detail=f"Bake watch stopped: {why}")
        return "bake watch stopped"
    balancer = balancer_for(policy)
    try:
        now, stats = sample(deployment, balancer)
        found = weight_drift(deployment, stats)
        health_probe(deployment, policy)
        breach = evaluate(deployment, policy, now)
    except DriverError as exc:
        if not deployment.events.filter(kind="alert", detail__startswith="Bake watch: load balancer").exists():
            services.record(deployment, kind="alert", detail=f"Bake watch: load balancer unavailable: {exc}")
        next_tick(deployment, policy.sample_interval_seconds)
        return f"watching, blind: {exc}"
    _note_drift(deployment, found, bool(stats))

    if breach:
        action, trigger, detail, detected_at = breach
        if action == TriggerAction.ROLLBACK:
            return switch_back(
                deployment,
                reason=detail,
                timeline_reason=f"Automatic switch back in the bake period: {detail}",
                detected_at=detected_at,
                automatic=True,
                trigger=trigger,
            )
        if not deployment.pause_reason:  # alert once, then wait for a person (the page shows it)
            waiting = f"{detail} in the bake period: alert raised; switch back or let it run"
            deployment.detected_at = deployment.detected_at or detected_at
            deployment.pause_reason = waiting[:300]
            deployment.save(update_fields=["detected_at", "pause_reason"])
            services.record(deployment, kind="alert", detail=waiting)
            alert(deployment, name=BAKE_ALERT, summary=f"Deployment #{deployment.pk}: {waiting}")
    next_tick(deployment, policy.sample_interval_seconds)
    return "watching"


def _note_drift(deployment, found, have_stats):
    """Weights changed by hand during the bake: alert and say so once; resolve when they match again."""
    if found:
        detail = f"Load balancer weights changed outside the engine during the bake period: {', '.join(found)}"
        if not deployment.events.filter(kind="alert", detail=detail).exists():
            services.record(deployment, kind="alert", detail=detail)
            alert(deployment, name=DRIFT_ALERT, summary=f"Deployment #{deployment.pk}: {detail}")
    elif have_stats:
        resolve(deployment, name=DRIFT_ALERT)


def status_label(deployment, now=None) -> str:
    """ "Succeeded, watching (N min left)" during the bake period; the status's own label otherwise."""
    now = now or timezone.now()
    label = deployment.get_status_display()
    if deployment.status == S.SUCCEEDED and deployment.watching_until and deployment.watching_until > now:
        left = max(1, round((deployment.watching_until - now).total_seconds() / 60))
        return f"{label}, watching ({left} min left)"
    return label
