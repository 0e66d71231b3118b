"""Reconcile: deployments whose engine went quiet (a dead worker) are resumed or rolled back; bake watches resumed."""

from django.db import transaction
from django.utils import timezone

from deployments import services
from deployments.choices import RUNNING, WITH_TRAFFIC, Actor
from deployments.engine.base import S, locked
from deployments.engine.rollback import begin_rollback
from deployments.models import Deployment


def is_stale(deployment, policy, now):
    """Silent past the policy's grace; a deploy command may run for its whole timeout first."""
    grace = policy.stale_after_seconds
    if deployment.status == S.DEPLOYING:
        grace += policy.deploy_timeout_seconds
    last = deployment.heartbeat_at or deployment.created_at
    return (now - last).total_seconds() >= grace


def reconcile(now=None) -> list[str]:
    now = now or timezone.now()
    outcomes = []
    candidates = Deployment.objects.filter(status__in=RUNNING).select_related("environment__deployment_policy")
    for candidate in candidates:
        if not is_stale(candidate, candidate.environment.deployment_policy, now):
            continue
        with transaction.atomic():
            deployment = locked(candidate.pk)
            if deployment.status not in RUNNING or deployment.heartbeat_at != candidate.heartbeat_at:
                continue  # it moved meanwhile
            outcomes.append(_take_over(deployment))
    outcomes += _resume_watches(now)
    return outcomes


def _resume_watches(now):
    """A bake period whose ticks stopped (a dead worker) is watched again for what is left of it."""
    outcomes = []
    watched = Deployment.objects.filter(status=S.SUCCEEDED, watching_until__gt=now).select_related(
        "environment__deployment_policy"
    )
    for candidate in watched:
        if not is_stale(candidate, candidate.environment.deployment_policy, now):
            continue
        with transaction.atomic():
            deployment = locked(candidate.pk)
            if deployment.status != S.SUCCEEDED or deployment.heartbeat_at != candidate.heartbeat_at:
                continue
            services.record(deployment, kind="note", detail="Reconcile: resumed the bake period's watch")
            services.new_run_token(deployment)
            services.enqueue_tick(deployment)
            outcomes.append(f"#{deployment.pk} watched again")
    return outcomes


def _take_over(deployment):
    """Unverified traffic on the new slot goes back to the standby slot; anything else resumes where it was."""
    last = deployment.heartbeat_at or deployment.created_at
    if deployment.status in WITH_TRAFFIC and deployment.status != S.ROLLING_BACK:
        detail = f"Engine silent since {last:%H:%M:%S} with {deployment.traffic_weight}% on an unverified slot"
        begin_rollback(
            deployment,
            reason=detail,
            timeline_reason=f"Reconcile: {detail}: rolling back to {deployment.from_slot.color}",
            detected_at=last,
            automatic=True,
        )
        return f"#{deployment.pk} rolled back"
    services.record(deployment, kind="note", actor=Actor.ENGINE, detail=f"Reconcile: resumed {deployment.status}")
    services.new_run_token(deployment)
    services.enqueue_tick(deployment)
    return f"#{deployment.pk} resumed"
