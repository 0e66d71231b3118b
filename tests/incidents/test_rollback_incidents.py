"""Rollbacks on real parts (HAProxy, stand-in slots, shoppers, a real Celery worker) open their incident."""

import pytest

from deployments import services as deployments
from deployments.choices import DeploymentStatus as S
from deployments.choices import TriggerKind
from deployments.models import Release
from incidents.choices import Phase
from incidents.models import Incident
from tests.conftest import wait_until
from tests.deployments.standins import Behaviour

pytestmark = pytest.mark.worker


def _release(version):
    return Release.objects.create(version=version, ref=f"release/{version}", ref_kind="branch")


def _incident_for(deployment):
    return wait_until(
        lambda: Incident.objects.filter(deployment=deployment).first(),
        timeout=60,
        what=f"the incident of deployment #{deployment.pk}",
    )


def _wait_status(deployment, *statuses):
    def reached():
        deployment.refresh_from_db()
        return deployment.status in statuses

    wait_until(reached, timeout=60, what=f"deployment #{deployment.pk} to reach {statuses}")


def test_automatic_rollback__engine_5xx__exactly_one_critical_incident_with_its_instants(worker, staging, shoppers,
                                                                                         slots):  # fmt: skip
    blue, green = slots
    green.behaviours["v3.1"] = Behaviour(error_fraction=0.2)
    # The smoke test would meet the same 20% of 500s one time in five: check the health path instead.
    staging.deployment_policy.smoke_checks.update(path="/healthz", body_contains="ok")
    deployment = deployments.start_deployment(release=_release("v3.1"), environment=staging)
    _wait_status(deployment, S.ROLLED_BACK, S.SUCCEEDED, S.FAILED)
    assert deployment.status == S.ROLLED_BACK, "\n".join(e.detail for e in deployment.events.all())

    incident = _incident_for(deployment)

    assert Incident.objects.filter(deployment=deployment).count() == 1
    assert incident.severity.key == "critical" and incident.cause == TriggerKind.ERROR_RATE
    assert incident.status == "mitigated" and incident.opened_by == "engine"
    # The decision instant is the engine's own; all three instants are the deployment's.
    assert (incident.detected_at, incident.decided_at, incident.executed_at) == (
        deployment.detected_at,
        deployment.decided_at,
        deployment.executed_at,
    )
    assert incident.started_at == deployment.events.filter(new_status="shifting_traffic").first().at
    assert incident.started_at <= incident.detected_at <= incident.decided_at <= incident.executed_at
    # Seconds apart on this stand-in, so every Critical target (minutes) is met.
    assert incident.compliance() == dict.fromkeys(Phase, True)
    copied = set(incident.timeline.values_list("text", flat=True))
    assert set(deployment.events.values_list("detail", flat=True)) <= copied
    assert incident.timeline.filter(source="alert", kind="trigger").exists()


def test_manual_rollback__person_after_p95_pause__exactly_one_high_incident(worker, staging, shoppers, slots,
                                                                            make_user):  # fmt: skip
    blue, green = slots
    green.behaviours["v3.3"] = Behaviour(delay_seconds=0.25)
    staging.deployment_policy.triggers.filter(kind=TriggerKind.P95_LATENCY).update(threshold=0.2)
    deployment = deployments.start_deployment(release=_release("v3.3"), environment=staging)
    _wait_status(deployment, S.PAUSED, S.SUCCEEDED, S.ROLLED_BACK, S.FAILED)
    assert deployment.status == S.PAUSED
    assert not Incident.objects.filter(deployment=deployment).exists()  # a pause is not a rollback
    person = make_user("oncall", "deployments.operate_deployment")

    deployments.roll_back_now(deployment_id=deployment.pk, user=person)
    _wait_status(deployment, S.ROLLED_BACK, S.FAILED)
    incident = _incident_for(deployment)

    assert Incident.objects.filter(deployment=deployment).count() == 1
    assert incident.severity.key == "high" and incident.cause == "manual"
    assert incident.owner == person
    assert (incident.detected_at, incident.decided_at, incident.executed_at) == (
        deployment.detected_at,
        deployment.decided_at,
        deployment.executed_at,
    )
    assert incident.compliance() == dict.fromkeys(Phase, True)
    assert incident.timeline.filter(user=person, source="person").exists()
