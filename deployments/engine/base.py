"""What every part of the engine uses: the row lock, steps (claim, finish), fail, pause, the next tick, probes."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core.status import change_status
from deployments import services
from deployments.choices import Actor, DeploymentStatus, SlotRole, StepStatus
from deployments.models import Deployment, Slot
from monitoring.public import AlertSeverity, raise_alert, resolve_alert

S = DeploymentStatus
logger = logging.getLogger("amarise_ops.deployments")
PROBE_TIMEOUT = 3.0


@dataclass
class Probe:
    ok: bool
    detail: str


def probe(url, *, expected_status=None, body_contains=""):
    try:
        import requests  # only probes need it; start-up stays light (tests/test_startup.py)

        response = requests.get(url, timeout=PROBE_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        return Probe(False, f"GET {url}: {type(exc).__name__}")
    ok = response.status_code == expected_status if expected_status else response.status_code < 400
    if ok and body_contains and body_contains not in response.text:
        return Probe(False, f"GET {url} → {response.status_code}, body lacks {body_contains!r}")
    return Probe(ok, f"GET {url} → {response.status_code}")


def locked(deployment_id):
    return (
        Deployment.objects.select_for_update(of=("self",))
        .select_related("release", "environment__deployment_policy", "from_slot", "to_slot")
        .get(pk=deployment_id)
    )


def step(deployment, name):
    return deployment.steps.get(name=name)


def claim_step(deployment, name):
    row = step(deployment, name)
    row.status = StepStatus.RUNNING
    row.started_at = row.started_at or timezone.now()
    row.attempts += 1
    row.save(update_fields=["status", "started_at", "attempts"])
    return row


def finish_step(deployment, name, status, output=None):
    row = step(deployment, name)
    row.status = status
    row.finished_at = timezone.now()
    fields = ["status", "finished_at"]
    if output is not None:
        row.output = (row.output + "\n" + output).strip()[-50000:]
        fields.append("output")
    row.save(update_fields=fields)
    services.record(deployment, kind="step", detail=f"{name}: {status}" + (f" — {output[:300]}" if output else ""))


def fail(deployment, detail):
    if deployment.to_slot_id and deployment.to_slot.role == SlotRole.DEPLOYING:
        Slot.objects.filter(pk=deployment.to_slot_id).update(role=SlotRole.IDLE)
    change_status(deployment, S.FAILED, actor=Actor.ENGINE, reason=detail)
    return f"failed: {detail}"


def next_tick(deployment, seconds):
    services.enqueue_tick(deployment, countdown=seconds)


def pause(deployment, detail, *, kind="alert"):
    services.record(deployment, kind=kind, detail=detail)
    change_status(
        deployment,
        S.PAUSED,
        actor=Actor.ENGINE,
        reason=f"Paused: {detail}",
        fields={"paused_from": deployment.status, "pause_reason": detail[:300]},
    )
    return f"paused: {detail}"


def alert(deployment, *, name, summary):
    """An alert through monitoring's one path (on-call is told); the timeline's alert row is the caller's."""
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the tick's transaction usable
            raise_alert(
                environment=deployment.environment,
                name=name,
                severity=AlertSeverity.WARNING,
                summary=summary[:500],
                source="deployments",
                labels={"deployment": str(deployment.pk)},
            )
    except Exception:  # alerting must not stop the engine from pausing; the timeline still says why
        logger.exception("could not raise %s for deployment #%s", name, deployment.pk)


def target_url(deployment):
    return deployment.to_slot.base_url if deployment.to_slot_id else deployment.environment.url.rstrip("/")


def trigger(policy, kind):
    return next((t for t in policy.triggers.all() if t.kind == kind and t.enabled), None)


def ask_for_weights(deployment, weight):
    """A manual load balancer: a person sets these weights and confirms; the hold starts then."""
    old, new = deployment.from_slot, deployment.to_slot
    deployment.awaiting_weights = f"{old.color} {100 - weight}% / {new.color} {weight}%"
    deployment.save(update_fields=["awaiting_weights"])
    services.record(
        deployment, kind="alert", detail=f"Set {deployment.awaiting_weights} in the load balancer, then confirm."
    )


def resolve(deployment, *, name):
    """The condition behind `name` cleared for this deployment: its alert resolves (nothing happens if none fires)."""
    try:
        with transaction.atomic():
            resolve_alert(environment=deployment.environment, name=name, labels={"deployment": str(deployment.pk)})
    except Exception:  # as alert(): the engine goes on; the alert stays until someone resolves it
        logger.exception("could not resolve %s for deployment #%s", name, deployment.pk)
