"""The engine: one bounded tick of work per Celery task, keyed by deployment id and run token.

Each tick does the next piece of the state machine, persists it, and enqueues the next tick on
commit. Ticks that move traffic hold the deployment's row lock, so a person's "roll back now"
and the engine never interleave weight changes. Only the deploy command runs unlocked, since it
may take minutes and touches no traffic.

base: lock, steps, fail, pause, next tick, probes. checks: deploy, smoke and health, before traffic.
triggers: §5's rules. traffic: the shift. rollback: the decision and its execution. switchback: a succeeded
deployment back to its standby slot, and the bake period's watch. reconcile: dead workers.
"""

from django.db import transaction
from django.utils import timezone

from core.status import change_status
from deployments import services
from deployments.choices import RUNNING, Actor, StepStatus
from deployments.engine.base import PROBE_TIMEOUT, Probe, S, claim_step, locked, next_tick, probe, step
from deployments.engine.checks import deploy, health, smoke
from deployments.engine.rollback import begin_rollback, roll_back
from deployments.engine.switchback import watch
from deployments.engine.traffic import shift
from deployments.models import Deployment

__all__ = ["PROBE_TIMEOUT", "Probe", "advance", "begin_rollback", "probe"]


def advance(deployment_id: int, token: str) -> str:
    with transaction.atomic():
        try:
            deployment = locked(deployment_id)
        except Deployment.DoesNotExist:
            return "gone"
        if str(deployment.run_token) != token:
            return "superseded by a newer run"
        if deployment.status == S.SUCCEEDED and deployment.watching_until:
            deployment.heartbeat_at = timezone.now()
            deployment.save(update_fields=["heartbeat_at"])
            return watch(deployment)
        if deployment.status not in RUNNING:
            return f"nothing to do: {deployment.status}"
        deployment.heartbeat_at = timezone.now()
        deployment.save(update_fields=["heartbeat_at"])
        if deployment.status == S.DEPLOYING and step(deployment, "deploy").status != StepStatus.PASSED:
            claim_step(deployment, "deploy")
        else:
            return HANDLERS[deployment.status](deployment)
    return deploy(deployment_id, token)


def _pending(deployment):
    # A deployment created but never handed over (e.g. the enqueue was lost): decide now.
    services.record(deployment, kind="note", detail="Picked up by the engine")
    change_status(deployment, S.DEPLOYING, actor=Actor.ENGINE)
    services.new_run_token(deployment)
    next_tick(deployment, 0)
    return "started"


HANDLERS = {
    S.PENDING: _pending,
    S.SMOKE_TESTING: smoke,
    S.HEALTH_CHECKING: health,
    S.SHIFTING_TRAFFIC: shift,
    S.VERIFYING: shift,
    S.ROLLING_BACK: roll_back,
}
