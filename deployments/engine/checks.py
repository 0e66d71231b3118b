"""Before any traffic: deploy to the idle slot, the pre-traffic steps, smoke tests and health checks."""

from django.db import transaction

from core.status import change_status
from deployments import services
from deployments.choices import Actor, SlotRole, StepStatus
from deployments.choices import TriggerKind as K
from deployments.drivers import balancer_for, executor_for
from deployments.drivers.executors import ExecutionResult
from deployments.engine.base import (
    S,
    claim_step,
    fail,
    finish_step,
    locked,
    logger,
    next_tick,
    probe,
    target_url,
    trigger,
)
from deployments.exceptions import DriverError
from deployments.models import Deployment, Slot
from deployments.steps import pre_traffic_steps


def deploy(deployment_id, token):
    """Deploy to the idle slot, then the pre-traffic steps, each run outside the lock and then recorded."""
    deployment = Deployment.objects.select_related("release", "environment__deployment_policy", "to_slot").get(
        pk=deployment_id
    )
    policy = deployment.environment.deployment_policy
    if deployment.steps.get(name="deploy").status != StepStatus.PASSED:
        outcome = _run_deploy_command(deployment, policy, token)
        if outcome:
            return outcome
    for step in pre_traffic_steps(policy):
        if deployment.steps.filter(name=step.name, status=StepStatus.PASSED).exists():
            continue  # done before a crash; steps are idempotent, but need not run twice
        with transaction.atomic():
            current = locked(deployment_id)
            if str(current.run_token) != token or current.status != S.DEPLOYING:
                return "a person or a newer run has taken over"
            claim_step(current, step.name)
        try:
            result = step.run(deployment)
        except Exception as exc:  # a step's failure must stop the deployment, not the engine
            logger.exception("pre-traffic step %s failed", step.name)
            result = ExecutionResult(False, f"{type(exc).__name__}: {exc}")
        with transaction.atomic():
            current = locked(deployment_id)
            if str(current.run_token) != token or current.status != S.DEPLOYING:
                return "a person or a newer run has taken over"
            if not result.ok:
                finish_step(current, step.name, StepStatus.FAILED, result.output)
                return fail(current, f"{step.name} failed before any traffic moved; see its output.")
            finish_step(current, step.name, StepStatus.PASSED, result.output)

    with transaction.atomic():
        current = locked(deployment_id)
        if str(current.run_token) != token or current.status != S.DEPLOYING:
            return "a person or a newer run has taken over"
        change_status(current, S.SMOKE_TESTING, actor=Actor.ENGINE)
        next_tick(current, 0)
    return "deployed"


def _run_deploy_command(deployment, policy, token):
    """Returns an outcome string when the deployment cannot go on, or None."""
    slot = deployment.to_slot
    error = ""
    try:
        if slot:
            Slot.objects.filter(pk=slot.pk).update(role=SlotRole.DEPLOYING)
            # The idle slot must carry nothing while it changes.
            balancer_for(policy).set_weight(slot.server_name, 0)
        result = executor_for(policy).run(slot=slot, release=deployment.release)
    except DriverError as exc:
        result, error = None, str(exc)

    with transaction.atomic():
        current = locked(deployment.pk)
        if str(current.run_token) != token or current.status != S.DEPLOYING:
            return "deploy finished, but a person or a newer run has taken over"
        if result is None:
            finish_step(current, "deploy", StepStatus.FAILED, error)
            return fail(current, f"Deploy failed: {error}")
        if not result.ok:
            finish_step(current, "deploy", StepStatus.FAILED, result.output)
            return fail(current, "Deploy command failed; see the deploy step's output.")
        finish_step(current, "deploy", StepStatus.PASSED, result.output)
        if slot:
            Slot.objects.filter(pk=slot.pk).update(release=current.release)
        services.tick_engine_item(current, "deploy_inactive")
    return None


def smoke(deployment):
    policy = deployment.environment.deployment_policy
    claim_step(deployment, "smoke_tests")
    base = target_url(deployment)
    results = [
        probe(f"{base}/{c.path.lstrip('/')}", expected_status=c.expected_status, body_contains=c.body_contains)
        for c in policy.smoke_checks.all()
    ]
    output = "\n".join(("pass  " if r.ok else "FAIL  ") + r.detail for r in results) or "No smoke checks configured."
    if not all(r.ok for r in results):
        finish_step(deployment, "smoke_tests", StepStatus.FAILED, output)
        return fail(deployment, "Smoke tests failed against the idle slot; it never received traffic.")
    finish_step(deployment, "smoke_tests", StepStatus.PASSED, output)
    services.tick_engine_item(deployment, "run_smoke_tests")
    change_status(deployment, S.HEALTH_CHECKING, actor=Actor.ENGINE, fields={"health_passes": 0, "health_failures": 0})
    next_tick(deployment, 0)
    return "smoke tests passed"


def health_probe(deployment, policy):
    result = probe(f"{target_url(deployment)}/{policy.health_path.lstrip('/')}")
    if result.ok:
        deployment.health_passes += 1
        deployment.health_failures = 0
    else:
        deployment.health_failures += 1
        deployment.health_passes = 0
    deployment.save(update_fields=["health_passes", "health_failures"])
    return result


def health(deployment):
    policy = deployment.environment.deployment_policy
    step = claim_step(deployment, "health_checks")
    result = health_probe(deployment, policy)
    step.output = (step.output + "\n" + ("pass  " if result.ok else "FAIL  ") + result.detail).strip()[-50000:]
    step.save(update_fields=["output"])
    health_trigger = trigger(policy, K.HEALTH_CHECK)
    limit = int(health_trigger.threshold) if health_trigger else 3
    if deployment.health_failures >= limit:
        _remove_from_balancer(deployment, policy)
        finish_step(deployment, "health_checks", StepStatus.FAILED)
        return fail(
            deployment, f"{limit} consecutive health-check failures: slot removed from the load balancer (maint)."
        )
    if deployment.health_passes >= policy.health_passes_required:
        finish_step(deployment, "health_checks", StepStatus.PASSED)
        services.tick_engine_item(deployment, "verify_health_checks")
        if deployment.to_slot_id:
            change_status(deployment, S.SHIFTING_TRAFFIC, actor=Actor.ENGINE)
            next_tick(deployment, 0)
            return "healthy: shifting traffic"
        services.tick_engine_item(deployment, "switch_traffic")
        change_status(deployment, S.SUCCEEDED, actor=Actor.ENGINE, reason="Direct deployment healthy.")
        return "succeeded"
    next_tick(deployment, policy.health_interval_seconds)
    return f"health {deployment.health_passes} passes, {deployment.health_failures} failures"


def _remove_from_balancer(deployment, policy):
    if not deployment.to_slot_id:
        return
    try:
        balancer = balancer_for(policy)
        balancer.set_weight(deployment.to_slot.server_name, 0)
        balancer.set_state(deployment.to_slot.server_name, "maint")
    except DriverError as exc:
        services.record(deployment, kind="alert", detail=f"Could not remove the slot from the load balancer: {exc}")
    Slot.objects.filter(pk=deployment.to_slot_id).update(role=SlotRole.FAILED)
