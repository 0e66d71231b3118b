"""The shift: 10 → 50 → 100 at the load balancer, a hold at each weight, samples and triggers on every tick."""

from datetime import timedelta

from django.utils import timezone

from core.status import change_status
from deployments import services
from deployments.choices import Actor, SlotRole, StepStatus, TriggerAction
from deployments.drivers import balancer_for
from deployments.engine.base import S, alert, ask_for_weights, claim_step, finish_step, next_tick, pause, resolve
from deployments.engine.checks import health_probe
from deployments.engine.rollback import begin_rollback, roll_back
from deployments.engine.triggers import evaluate, window
from deployments.exceptions import DriverError
from deployments.metrics import window_rate
from deployments.models import MetricSample, Slot

PASSED, NOT_MEASURED, INCONCLUSIVE = "passed", "not measured", "inconclusive"


def hold_verdict(*, measured, requests, error_rate, min_requests, weight, hold_seconds):
    """(verdict, what the step's log says) at the end of a hold with no trigger breached.

    A manual load balancer measures nothing: the hold is "not measured", never a pass with 0 requests behind it.
    A real one with fewer than `min_requests` in the hold is inconclusive: the engine pauses for a person.
    """
    if not measured:
        return NOT_MEASURED, (
            f"Held {hold_seconds:g} s at {weight}%: not measured (the manual load balancer reports no request "
            "counters; nothing was checked)"
        )
    if requests < min_requests:
        return INCONCLUSIVE, (
            f"Inconclusive at {weight}%: {requests} requests in the hold, fewer than the {min_requests} a verdict needs"
        )
    return PASSED, f"{requests} requests, {error_rate:.2f}% 5xx over the hold"


def apply_weight(deployment, balancer, weight):
    new, old = deployment.to_slot, deployment.from_slot
    balancer.set_state(new.server_name, "ready")
    # Raise the side gaining traffic first, so the backend never has zero total weight.
    if weight >= deployment.traffic_weight:
        balancer.set_weight(new.server_name, weight)
        balancer.set_weight(old.server_name, 100 - weight)
    else:
        balancer.set_weight(old.server_name, 100 - weight)
        balancer.set_weight(new.server_name, weight)
    deployment.traffic_weight = weight


def sample(deployment, balancer):
    """Record both slots' counters; returns the instant and what the load balancer showed."""
    now = timezone.now()
    stats = balancer.stats() if balancer.reports_stats else {}
    rows = []
    for slot in (deployment.to_slot, deployment.from_slot):
        line = stats.get(slot.server_name)
        if line is None:
            continue
        rows.append(
            MetricSample(
                deployment=deployment,
                slot=slot,
                taken_at=now,
                req_tot=line.req_tot,
                hrsp_5xx=line.hrsp_5xx,
                weight=line.weight,
                server_status=line.status[:16],
                check_status=line.check_status[:16],
                p95_seconds=(line.rtime_ms / 1000.0) if line.rtime_ms is not None else None,
            )
        )
    MetricSample.objects.bulk_create(rows)
    return now, stats


def weight_drift(deployment, stats):
    """The weights the load balancer shows that differ from the ones the engine set: [] when none do."""
    wanted = {
        deployment.to_slot.server_name: deployment.traffic_weight,
        deployment.from_slot.server_name: 100 - deployment.traffic_weight,
    }
    return [
        f"{name} at {stats[name].weight} (the engine set {weight})"
        for name, weight in wanted.items()
        if name in stats and stats[name].weight != weight
    ]


DRIFT_ALERT = "DeploymentWeightDrift"


def _pause_for_drift(deployment, found):
    """Someone changed the weights by hand: never overwrite them silently; stop, alert and say what was found."""
    detail = (
        f"Load balancer weights changed outside the engine: {', '.join(found)}. Not overwritten: "
        "set them back and continue, or roll back."
    )
    alert(deployment, name=DRIFT_ALERT, summary=f"Deployment #{deployment.pk}: {detail}")
    return pause(deployment, detail)


def shift(deployment):
    policy = deployment.environment.deployment_policy
    steps = list(policy.traffic_steps.all())
    balancer = balancer_for(policy)
    try:
        if deployment.traffic_step < 0:
            return _enter_step(deployment, policy, balancer, steps, 0)
        if deployment.awaiting_weights:
            next_tick(deployment, policy.sample_interval_seconds)
            return f"waiting for a person to set {deployment.awaiting_weights}"

        now, stats = sample(deployment, balancer)
        found = weight_drift(deployment, stats)
        if found:
            return _pause_for_drift(deployment, found)
        if stats:
            resolve(deployment, name=DRIFT_ALERT)  # set back by a person, who then continued
        health_probe(deployment, policy)
        breach = evaluate(deployment, policy, now)
    except DriverError as exc:
        # Losing the load balancer mid-shift: the engine cannot see, so a person decides.
        return pause(deployment, f"Load balancer unavailable: {exc}")

    if breach:
        action, trigger, detail, detected_at = breach
        if action == TriggerAction.PAUSE:
            deployment.detected_at = deployment.detected_at or detected_at
            deployment.save(update_fields=["detected_at"])
            return pause(deployment, f"{detail}: alert raised, awaiting a manual decision")
        begin_rollback(
            deployment,
            reason=detail,
            timeline_reason=f"Automatic rollback: {detail}",
            detected_at=detected_at,
            automatic=True,
            trigger=trigger,
            hand_over=False,  # this tick carries it out now: no queue between the breach and the weights
        )
        return roll_back(deployment)

    step = steps[deployment.traffic_step]
    if (now - deployment.hold_started_at).total_seconds() < step.hold_seconds:
        next_tick(deployment, policy.sample_interval_seconds)
        return f"holding {deployment.traffic_weight}%"

    held = window_rate(window(deployment, deployment.hold_started_at))
    verdict, text = hold_verdict(
        measured=balancer.reports_stats, requests=held.requests, error_rate=held.error_rate,
        min_requests=policy.min_requests, weight=deployment.traffic_weight, hold_seconds=step.hold_seconds,
    )  # fmt: skip
    if verdict == INCONCLUSIVE:
        return pause(deployment, text)
    finish_step(deployment, f"traffic_{step.weight}", StepStatus.PASSED, text)
    if deployment.traffic_step + 1 < len(steps):
        return _enter_step(deployment, policy, balancer, steps, deployment.traffic_step + 1)
    return _succeed(deployment)


def _enter_step(deployment, policy, balancer, steps, index):
    step = steps[index]
    apply_weight(deployment, balancer, step.weight)
    now = timezone.now()
    deployment.traffic_step = index
    deployment.hold_started_at = now
    if index == 0:
        deployment.started_at = deployment.started_at or now
    deployment.save(update_fields=["traffic_weight", "traffic_step", "hold_started_at", "started_at"])
    claim_step(deployment, f"traffic_{step.weight}")
    services.record(deployment, kind="traffic", detail=f"Traffic: {step.weight}% on {deployment.to_slot.color}")
    if balancer.needs_confirmation:
        ask_for_weights(deployment, step.weight)
    sample(deployment, balancer)
    if index == len(steps) - 1:
        change_status(deployment, S.VERIFYING, actor=Actor.ENGINE, reason="All traffic on the new slot: final hold")
    next_tick(deployment, policy.sample_interval_seconds)
    return f"traffic at {step.weight}%"


def _succeed(deployment):
    """Green is live, blue on standby with the previous release; the bake period's watch starts (none at 0 min)."""
    policy = deployment.environment.deployment_policy
    Slot.objects.filter(pk=deployment.to_slot_id).update(role=SlotRole.LIVE)
    Slot.objects.filter(pk=deployment.from_slot_id).update(role=SlotRole.STANDBY)
    services.tick_engine_item(deployment, "switch_traffic")
    services.tick_engine_item(deployment, "monitor_error_rates")
    change_status(
        deployment,
        S.SUCCEEDED,
        actor=Actor.ENGINE,
        reason=f"{deployment.to_slot.color} is live; {deployment.from_slot.color} on standby"
        + (f"; watched for {policy.bake_minutes} min" if policy.bake_minutes else ""),
        fields={"watching_until": bake_end(policy, timezone.now())},
    )
    services.enqueue_post_deploy_checks(deployment)
    if deployment.watching_until:
        next_tick(deployment, policy.sample_interval_seconds)  # the same run goes on: its ticks now watch
    return "succeeded"


def bake_end(policy, now):
    """When the bake period after 100% ends: None when the policy has none."""
    return now + timedelta(minutes=policy.bake_minutes) if policy.bake_minutes else None
