"""The engine: one bounded tick of work per Celery task, keyed by deployment id and run token.

Each tick does the next piece of the state machine, persists it, and enqueues the next tick on
commit. Ticks that move traffic hold the deployment's row lock, so a person's "roll back now"
and the engine never interleave weight changes. Only the deploy command runs unlocked, since it
may take minutes and touches no traffic.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.db import transaction
from django.utils import timezone

from core.status import change_status
from deployments import services
from deployments.choices import RUNNING, WITH_TRAFFIC, Actor, DeploymentStatus, SlotRole, StepStatus, TriggerAction
from deployments.choices import TriggerKind as K
from deployments.drivers import balancer_for, executor_for
from deployments.drivers.executors import ExecutionResult
from deployments.exceptions import DriverError
from deployments.metrics import prometheus_value, window_rate
from deployments.models import Deployment, MetricSample, Slot
from deployments.signals import deployment_rolled_back
from deployments.steps import pre_traffic_steps

S = DeploymentStatus
logger = logging.getLogger("amarise_ops.deployments")
PROBE_TIMEOUT = 3.0


@dataclass
class Probe:
    ok: bool
    detail: str


def probe(url, *, expected_status=None, body_contains=""):
    try:
        response = requests.get(url, timeout=PROBE_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        return Probe(False, f"GET {url}: {type(exc).__name__}")
    ok = response.status_code == expected_status if expected_status else response.status_code < 400
    if ok and body_contains and body_contains not in response.text:
        return Probe(False, f"GET {url} → {response.status_code}, body lacks {body_contains!r}")
    return Probe(ok, f"GET {url} → {response.status_code}")


def _locked(deployment_id):
    return (
        Deployment.objects.select_for_update(of=("self",))
        .select_related("release", "environment__deployment_policy", "from_slot", "to_slot")
        .get(pk=deployment_id)
    )


def advance(deployment_id: int, token: str) -> str:
    with transaction.atomic():
        try:
            deployment = _locked(deployment_id)
        except Deployment.DoesNotExist:
            return "gone"
        if str(deployment.run_token) != token:
            return "superseded by a newer run"
        if deployment.status not in RUNNING:
            return f"nothing to do: {deployment.status}"
        deployment.heartbeat_at = timezone.now()
        deployment.save(update_fields=["heartbeat_at"])
        if deployment.status == S.DEPLOYING and _step(deployment, "deploy").status != StepStatus.PASSED:
            _claim_step(deployment, "deploy")
        else:
            return HANDLERS[deployment.status](deployment)
    return _deploy(deployment_id, token)


# --- Steps ---------------------------------------------------------------------------------


def _step(deployment, name):
    return deployment.steps.get(name=name)


def _claim_step(deployment, name):
    step = _step(deployment, name)
    step.status = StepStatus.RUNNING
    step.started_at = step.started_at or timezone.now()
    step.attempts += 1
    step.save(update_fields=["status", "started_at", "attempts"])
    return step


def _finish_step(deployment, name, status, output=None):
    step = _step(deployment, name)
    step.status = status
    step.finished_at = timezone.now()
    fields = ["status", "finished_at"]
    if output is not None:
        step.output = (step.output + "\n" + output).strip()[-50000:]
        fields.append("output")
    step.save(update_fields=fields)
    services.record(deployment, kind="step", detail=f"{name}: {status}" + (f" — {output[:300]}" if output else ""))


def _fail(deployment, detail):
    if deployment.to_slot_id and deployment.to_slot.role == SlotRole.DEPLOYING:
        Slot.objects.filter(pk=deployment.to_slot_id).update(role=SlotRole.IDLE)
    change_status(deployment, S.FAILED, actor=Actor.ENGINE, reason=detail)
    return f"failed: {detail}"


def _next(deployment, seconds):
    services.enqueue_tick(deployment, countdown=seconds)


def _deploy(deployment_id, token):
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
            current = _locked(deployment_id)
            if str(current.run_token) != token or current.status != S.DEPLOYING:
                return "a person or a newer run has taken over"
            _claim_step(current, step.name)
        try:
            result = step.run(deployment)
        except Exception as exc:  # a step's failure must stop the deployment, not the engine
            logger.exception("pre-traffic step %s failed", step.name)
            result = ExecutionResult(False, f"{type(exc).__name__}: {exc}")
        with transaction.atomic():
            current = _locked(deployment_id)
            if str(current.run_token) != token or current.status != S.DEPLOYING:
                return "a person or a newer run has taken over"
            if not result.ok:
                _finish_step(current, step.name, StepStatus.FAILED, result.output)
                return _fail(current, f"{step.name} failed before any traffic moved; see its output.")
            _finish_step(current, step.name, StepStatus.PASSED, result.output)

    with transaction.atomic():
        current = _locked(deployment_id)
        if str(current.run_token) != token or current.status != S.DEPLOYING:
            return "a person or a newer run has taken over"
        change_status(current, S.SMOKE_TESTING, actor=Actor.ENGINE)
        _next(current, 0)
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
        current = _locked(deployment.pk)
        if str(current.run_token) != token or current.status != S.DEPLOYING:
            return "deploy finished, but a person or a newer run has taken over"
        if result is None:
            _finish_step(current, "deploy", StepStatus.FAILED, error)
            return _fail(current, f"Deploy failed: {error}")
        if not result.ok:
            _finish_step(current, "deploy", StepStatus.FAILED, result.output)
            return _fail(current, "Deploy command failed; see the deploy step's output.")
        _finish_step(current, "deploy", StepStatus.PASSED, result.output)
        if slot:
            Slot.objects.filter(pk=slot.pk).update(release=current.release)
        services.tick_engine_item(current, "deploy_inactive")
    return None


def _target_url(deployment):
    return deployment.to_slot.base_url if deployment.to_slot_id else deployment.environment.url.rstrip("/")


def _smoke(deployment):
    policy = deployment.environment.deployment_policy
    _claim_step(deployment, "smoke_tests")
    base = _target_url(deployment)
    results = [
        probe(f"{base}/{c.path.lstrip('/')}", expected_status=c.expected_status, body_contains=c.body_contains)
        for c in policy.smoke_checks.all()
    ]
    output = "\n".join(("pass  " if r.ok else "FAIL  ") + r.detail for r in results) or "No smoke checks configured."
    if not all(r.ok for r in results):
        _finish_step(deployment, "smoke_tests", StepStatus.FAILED, output)
        return _fail(deployment, "Smoke tests failed against the idle slot; it never received traffic.")
    _finish_step(deployment, "smoke_tests", StepStatus.PASSED, output)
    services.tick_engine_item(deployment, "run_smoke_tests")
    change_status(deployment, S.HEALTH_CHECKING, actor=Actor.ENGINE, fields={"health_passes": 0, "health_failures": 0})
    _next(deployment, 0)
    return "smoke tests passed"


def _trigger(policy, kind):
    return next((t for t in policy.triggers.all() if t.kind == kind and t.enabled), None)


def _health_probe(deployment, policy):
    result = probe(f"{_target_url(deployment)}/{policy.health_path.lstrip('/')}")
    if result.ok:
        deployment.health_passes += 1
        deployment.health_failures = 0
    else:
        deployment.health_failures += 1
        deployment.health_passes = 0
    deployment.save(update_fields=["health_passes", "health_failures"])
    return result


def _health(deployment):
    policy = deployment.environment.deployment_policy
    step = _claim_step(deployment, "health_checks")
    result = _health_probe(deployment, policy)
    step.output = (step.output + "\n" + ("pass  " if result.ok else "FAIL  ") + result.detail).strip()[-50000:]
    step.save(update_fields=["output"])
    trigger = _trigger(policy, K.HEALTH_CHECK)
    limit = int(trigger.threshold) if trigger else 3
    if deployment.health_failures >= limit:
        _remove_from_balancer(deployment, policy)
        _finish_step(deployment, "health_checks", StepStatus.FAILED)
        return _fail(
            deployment, f"{limit} consecutive health-check failures: slot removed from the load balancer (maint)."
        )
    if deployment.health_passes >= policy.health_passes_required:
        _finish_step(deployment, "health_checks", StepStatus.PASSED)
        services.tick_engine_item(deployment, "verify_health_checks")
        if deployment.to_slot_id:
            change_status(deployment, S.SHIFTING_TRAFFIC, actor=Actor.ENGINE)
            _next(deployment, 0)
            return "healthy: shifting traffic"
        services.tick_engine_item(deployment, "switch_traffic")
        change_status(deployment, S.SUCCEEDED, actor=Actor.ENGINE, reason="Direct deployment healthy.")
        return "succeeded"
    _next(deployment, policy.health_interval_seconds)
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


# --- Traffic ---------------------------------------------------------------------------------------


def _apply_weight(deployment, balancer, weight):
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


def _sample(deployment, balancer):
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
    return now


def _window(deployment, since):
    return list(
        MetricSample.objects.filter(deployment=deployment, slot=deployment.to_slot, taken_at__gte=since).order_by(
            "taken_at"
        )
    )


def _first_breach(samples, threshold):
    """The first sample at which the running 5xx rate since the window's start went over `threshold`."""
    for i in range(1, len(samples)):
        rate = window_rate(samples[: i + 1])
        if rate.errors and rate.error_rate > threshold:
            return samples[i].taken_at
    return samples[-1].taken_at


def _p95(deployment, policy, trigger, samples):
    if trigger.promql and policy.prometheus_url:
        query = trigger.promql.replace("{slot}", deployment.to_slot.color)
        return prometheus_value(policy.prometheus_url, query), "Prometheus"
    # Without Prometheus, HAProxy's average over the last 1024 responses: a lower bound of p95.
    latest = samples[-1] if samples else None
    return (latest.p95_seconds if latest else None), "HAProxy rtime (average, a lower bound of p95)"


def _evaluate(deployment, policy, now):
    """Check the triggers on the new slot. Returns (action, trigger, detail, detected_at) or None."""
    traffic_since = deployment.started_at or now
    error_trigger = _trigger(policy, K.ERROR_RATE)
    if error_trigger:
        since = max(now - timedelta(seconds=error_trigger.window_seconds), traffic_since)
        samples = _window(deployment, since)
        rate = window_rate(samples)
        if rate.requests >= policy.min_requests and rate.error_rate > error_trigger.threshold:
            detail = (
                f"5xx rate {rate.error_rate:.1f}% > {error_trigger.threshold:g}% over the last "
                f"{error_trigger.window_seconds:g}s ({rate.errors} of {rate.requests} requests)"
            )
            return error_trigger.action, error_trigger, detail, _first_breach(samples, error_trigger.threshold)
    latency_trigger = _trigger(policy, K.P95_LATENCY)
    if latency_trigger:
        since = max(now - timedelta(seconds=latency_trigger.window_seconds), traffic_since)
        samples = _window(deployment, since)
        rate = window_rate(samples)
        value, source = _p95(deployment, policy, latency_trigger, samples)
        if value is not None and rate.requests >= policy.min_requests and value > latency_trigger.threshold:
            detail = f"p95 {value:.2f}s > {latency_trigger.threshold:g}s ({source})"
            return latency_trigger.action, latency_trigger, detail, now
    health_trigger = _trigger(policy, K.HEALTH_CHECK)
    if health_trigger and deployment.health_failures >= int(health_trigger.threshold):
        detail = f"{deployment.health_failures} consecutive health-check failures on the new slot"
        return TriggerAction.ROLLBACK, health_trigger, detail, now
    return None


def _pause(deployment, detail, *, kind="alert"):
    services.record(deployment, kind=kind, detail=detail)
    change_status(
        deployment,
        S.PAUSED,
        actor=Actor.ENGINE,
        reason=f"Paused: {detail}",
        fields={"paused_from": deployment.status, "pause_reason": detail[:300]},
    )
    return f"paused: {detail}"


def _shift(deployment):
    policy = deployment.environment.deployment_policy
    steps = list(policy.traffic_steps.all())
    balancer = balancer_for(policy)
    try:
        if deployment.traffic_step < 0:
            return _enter_step(deployment, policy, balancer, steps, 0)
        if deployment.awaiting_weights:
            _next(deployment, policy.sample_interval_seconds)
            return f"waiting for a person to set {deployment.awaiting_weights}"

        now = _sample(deployment, balancer)
        _health_probe(deployment, policy)
        breach = _evaluate(deployment, policy, now)
    except DriverError as exc:
        # Losing the load balancer mid-shift: the engine cannot see, so a person decides.
        return _pause(deployment, f"Load balancer unavailable: {exc}")

    if breach:
        action, trigger, detail, detected_at = breach
        if action == TriggerAction.PAUSE:
            deployment.detected_at = deployment.detected_at or detected_at
            deployment.save(update_fields=["detected_at"])
            return _pause(deployment, f"{detail}: alert raised, awaiting a manual decision")
        services.record(deployment, kind="trigger", detail=f"{detail}: automatic rollback")
        change_status(
            deployment,
            S.ROLLING_BACK,
            actor=Actor.ENGINE,
            reason=f"Automatic rollback: {detail}",
            fields={
                "detected_at": detected_at,
                "decided_at": timezone.now(),
                "rollback_trigger": trigger,
                "rollback_automatic": True,
                "rollback_reason": detail[:300],
            },
        )
        return _roll_back(deployment)

    step = steps[deployment.traffic_step]
    if (now - deployment.hold_started_at).total_seconds() < step.hold_seconds:
        _next(deployment, policy.sample_interval_seconds)
        return f"holding {deployment.traffic_weight}%"

    held = window_rate(_window(deployment, deployment.hold_started_at))
    if balancer.reports_stats and held.requests < policy.min_requests:
        return _pause(
            deployment,
            f"Inconclusive at {deployment.traffic_weight}%: {held.requests} requests in the hold, "
            f"fewer than the {policy.min_requests} a verdict needs",
        )
    _finish_step(
        deployment,
        f"traffic_{step.weight}",
        StepStatus.PASSED,
        f"{held.requests} requests, {held.error_rate:.2f}% 5xx over the hold",
    )
    if deployment.traffic_step + 1 < len(steps):
        return _enter_step(deployment, policy, balancer, steps, deployment.traffic_step + 1)
    return _succeed(deployment)


def _enter_step(deployment, policy, balancer, steps, index):
    step = steps[index]
    _apply_weight(deployment, balancer, step.weight)
    now = timezone.now()
    deployment.traffic_step = index
    deployment.hold_started_at = now
    if index == 0:
        deployment.started_at = deployment.started_at or now
    deployment.save(update_fields=["traffic_weight", "traffic_step", "hold_started_at", "started_at"])
    _claim_step(deployment, f"traffic_{step.weight}")
    services.record(deployment, kind="traffic", detail=f"Traffic: {step.weight}% on {deployment.to_slot.color}")
    if balancer.needs_confirmation:
        _ask_for_weights(deployment, step.weight)
    _sample(deployment, balancer)
    if index == len(steps) - 1:
        change_status(deployment, S.VERIFYING, actor=Actor.ENGINE, reason="All traffic on the new slot: final hold")
    _next(deployment, policy.sample_interval_seconds)
    return f"traffic at {step.weight}%"


def _ask_for_weights(deployment, weight):
    """A manual load balancer: a person sets these weights and confirms; the hold starts then."""
    old, new = deployment.from_slot, deployment.to_slot
    deployment.awaiting_weights = f"{old.color} {100 - weight}% / {new.color} {weight}%"
    deployment.save(update_fields=["awaiting_weights"])
    services.record(
        deployment, kind="alert", detail=f"Set {deployment.awaiting_weights} in the load balancer, then confirm."
    )


def _succeed(deployment):
    Slot.objects.filter(pk=deployment.to_slot_id).update(role=SlotRole.LIVE)
    Slot.objects.filter(pk=deployment.from_slot_id).update(role=SlotRole.STANDBY)
    services.tick_engine_item(deployment, "switch_traffic")
    services.tick_engine_item(deployment, "monitor_error_rates")
    change_status(
        deployment,
        S.SUCCEEDED,
        actor=Actor.ENGINE,
        reason=f"{deployment.to_slot.color} is live; {deployment.from_slot.color} on standby",
    )
    return "succeeded"


def _roll_back(deployment):
    """All traffic back to the standby slot in one step, verify it, drain the failed slot."""
    policy = deployment.environment.deployment_policy
    balancer = balancer_for(policy)
    old, new = deployment.from_slot, deployment.to_slot
    if balancer.needs_confirmation:
        confirmed = deployment.weights_confirmed_at and deployment.weights_confirmed_at >= deployment.decided_at
        if not confirmed:
            if not deployment.awaiting_weights.startswith(f"{old.color} 100%"):
                _ask_for_weights(deployment, 0)
            _next(deployment, policy.sample_interval_seconds)
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
        _next(deployment, 1)
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
        return _fail(deployment, f"Traffic is back on {old.color}, but it fails its health check: act now.")
    change_status(
        deployment,
        S.ROLLED_BACK,
        actor=Actor.ENGINE,
        reason=f"All traffic on {old.color} ({health.detail}); {new.color} drained and kept for investigation",
    )
    return "rolled back"


HANDLERS = {
    S.SMOKE_TESTING: _smoke,
    S.HEALTH_CHECKING: _health,
    S.SHIFTING_TRAFFIC: _shift,
    S.VERIFYING: _shift,
    S.ROLLING_BACK: _roll_back,
}


def _pending(deployment):
    # A deployment created but never handed over (e.g. the enqueue was lost): decide now.
    services.record(deployment, kind="note", detail="Picked up by the engine")
    change_status(deployment, S.DEPLOYING, actor=Actor.ENGINE)
    services.new_run_token(deployment)
    _next(deployment, 0)
    return "started"


HANDLERS[S.PENDING] = _pending


# --- Reconcile --------------------------------------------------------------------------------------


def reconcile(now=None) -> list[str]:
    """Find running deployments whose engine went quiet (a dead worker) and resume or roll them back."""
    now = now or timezone.now()
    outcomes = []
    candidates = Deployment.objects.filter(status__in=RUNNING).select_related("environment__deployment_policy")
    for candidate in candidates:
        policy = candidate.environment.deployment_policy
        grace = policy.stale_after_seconds
        if candidate.status == S.DEPLOYING:
            grace += policy.deploy_timeout_seconds
        last = candidate.heartbeat_at or candidate.created_at
        if (now - last).total_seconds() < grace:
            continue
        with transaction.atomic():
            deployment = _locked(candidate.pk)
            if deployment.status not in RUNNING or deployment.heartbeat_at != candidate.heartbeat_at:
                continue  # it moved meanwhile
            services.new_run_token(deployment)
            if deployment.status in WITH_TRAFFIC and deployment.status != S.ROLLING_BACK:
                detail = f"Engine silent since {last:%H:%M:%S} with {deployment.traffic_weight}% on an unverified slot"
                change_status(
                    deployment,
                    S.ROLLING_BACK,
                    actor=Actor.ENGINE,
                    reason=f"Reconcile: {detail}: rolling back to {deployment.from_slot.color}",
                    fields={
                        "detected_at": last,
                        "decided_at": timezone.now(),
                        "rollback_automatic": True,
                        "rollback_reason": detail,
                    },
                )
                outcomes.append(f"#{deployment.pk} rolled back")
            else:
                services.record(
                    deployment, kind="note", actor=Actor.ENGINE, detail=f"Reconcile: resumed {deployment.status}"
                )
                outcomes.append(f"#{deployment.pk} resumed")
            services.enqueue_tick(deployment)
    return outcomes
