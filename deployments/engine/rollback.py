"""Rollback: the decision (begin_rollback, one for the engine, reconcile and a person) and its execution.

Switching back from a succeeded deployment (deployments.engine.switchback) decides and executes through these too.
"""

from django.db import transaction
from django.utils import timezone

from core.status import change_status
from deployments import services
from deployments.choices import Actor, SlotRole, StepStatus
from deployments.drivers import balancer_for
from deployments.engine.base import S, ask_for_weights, fail, next_tick, probe
from deployments.exceptions import DriverError
from deployments.models import Deployment, Slot
from deployments.signals import deployment_rolled_back


def begin_rollback(
    deployment,
    *,
    reason,
    detected_at,
    automatic,
    actor=Actor.ENGINE,
    user=None,
    trigger=None,
    timeline_reason=None,
    hand_over=True,
    decided_at=None,
):
    """Decide to roll back: record the instants and why, and move to rolling back. The caller holds the row lock.

    With `hand_over`, a fresh run token and a tick carry it out (a person's or reconcile's decision:
    any tick of the old run now exits); the engine, already in its tick, carries it out itself.
    `decided_at` is now unless the decision was taken earlier (a person's switch back request, queued).
    """
    if trigger is not None:
        services.record(deployment, kind="trigger", detail=f"{reason}: automatic rollback")
    change_status(
        deployment,
        S.ROLLING_BACK,
        actor=actor,
        user=user,
        reason=timeline_reason or reason,
        fields={
            "detected_at": detected_at,
            "decided_at": decided_at or timezone.now(),
            "rollback_trigger": trigger,
            "rollback_automatic": automatic,
            "rollback_reason": reason[:300],
        },
    )
    if hand_over:
        services.new_run_token(deployment)
        services.enqueue_tick(deployment)
    return deployment


def roll_back(deployment):
    """All traffic back to the standby slot in one step, verify it, drain the failed slot."""
    policy = deployment.environment.deployment_policy
    balancer = balancer_for(policy)
    old, new = deployment.from_slot, deployment.to_slot
    if balancer.needs_confirmation:
        confirmed = deployment.weights_confirmed_at and deployment.weights_confirmed_at >= deployment.decided_at
        if not confirmed:
            if not deployment.awaiting_weights.startswith(f"{old.color} 100%"):
                ask_for_weights(deployment, 0)
            next_tick(deployment, policy.sample_interval_seconds)
            return "waiting for a person to restore the weights"
    try:
        balancer.set_state(old.server_name, "ready")
        balancer.set_weight(old.server_name, 100)
        balancer.set_weight(new.server_name, 0)
        balancer.set_state(new.server_name, "drain")
        if balancer.reports_stats:
            stats = balancer.stats()
            if stats[new.server_name].weight != 0 or stats[old.server_name].weight == 0:
                raise DriverError("the load balancer does not show the rollback weights")
    except (DriverError, KeyError) as exc:
        services.record(deployment, kind="alert", detail=f"Rollback could not be applied yet: {exc}; retrying")
        next_tick(deployment, 1)
        return f"rollback retrying: {exc}"

    health = probe(f"{old.base_url}/{policy.health_path.lstrip('/')}")
    now = timezone.now()
    deployment.executed_at = now
    deployment.traffic_weight = 0
    deployment.save(update_fields=["executed_at", "traffic_weight"])
    Slot.objects.filter(pk=old.pk).update(role=SlotRole.LIVE)
    Slot.objects.filter(pk=new.pk).update(role=SlotRole.FAILED)
    deployment.steps.filter(status=StepStatus.RUNNING).update(status=StepStatus.FAILED, finished_at=now)
    deployment.steps.filter(status=StepStatus.PENDING).update(status=StepStatus.SKIPPED, finished_at=now)
    pk = deployment.pk
    transaction.on_commit(lambda: deployment_rolled_back.send(sender=Deployment, deployment_id=pk))
    if not health.ok:
        services.record(deployment, kind="alert", detail=f"Standby slot unhealthy after rollback: {health.detail}")
        return fail(deployment, f"Traffic is back on {old.color}, but it fails its health check: act now.")
    change_status(
        deployment,
        S.ROLLED_BACK,
        actor=Actor.ENGINE,
        reason=f"All traffic on {old.color} ({health.detail}); {new.color} drained and kept for investigation",
    )
    return "rolled back"
