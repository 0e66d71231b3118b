"""Steps other apps register to run after deploy and before traffic (the migrations log's, for one)."""

import pytest

from deployments import engine, services
from deployments.choices import RUNNING
from deployments.choices import DeploymentStatus as S
from deployments.drivers.executors import ExecutionResult
from deployments.drivers.haproxy import HAProxyBalancer
from deployments.models import Release
from deployments.steps import PreTrafficStep, _registry, register_pre_traffic_step


@pytest.fixture
def in_process_engine(monkeypatch):
    """Drive the engine here, tick by tick, so test-registered steps (absent from the worker) run."""
    monkeypatch.setattr(services, "enqueue_tick", lambda deployment, countdown=0: None)

    def run_until(deployment, *stop):
        for _ in range(200):
            deployment.refresh_from_db()
            if deployment.status in stop or deployment.status not in RUNNING:
                return deployment
            engine.advance(deployment.pk, str(deployment.run_token))
        raise AssertionError(f"stuck in {deployment.status}")

    return run_until


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setattr("deployments.steps._registry", dict(_registry))
    calls = []

    def add(name, ok):
        def run(deployment):
            calls.append(name)
            return ExecutionResult(ok, f"{name} ran on {deployment.to_slot.color}")

        register_pre_traffic_step(PreTrafficStep(name=name, applies=lambda policy: True, run=run))

    return add, calls


def test_pre_traffic_steps__run_in_order_between_deploy_and_smoke(staging, registered, in_process_engine):
    add, calls = registered
    add("apply_migrations", True)
    add("warm_caches", True)
    release = Release.objects.create(version="v3", ref="release/3", ref_kind="branch")
    deployment = services.start_deployment(release=release, environment=staging)
    names = list(deployment.steps.values_list("name", flat=True))
    assert names[:4] == ["deploy", "apply_migrations", "warm_caches", "smoke_tests"]

    in_process_engine(deployment, S.SHIFTING_TRAFFIC)

    assert calls == ["apply_migrations", "warm_caches"]
    assert deployment.steps.get(name="apply_migrations").output == "apply_migrations ran on green"


def test_pre_traffic_step_fails__deployment_fails_before_any_traffic(staging, registered, in_process_engine):
    add, calls = registered
    add("apply_migrations", False)
    add("warm_caches", True)
    release = Release.objects.create(version="v4", ref="release/4", ref_kind="branch")
    deployment = services.start_deployment(release=release, environment=staging)

    in_process_engine(deployment)

    assert deployment.status == S.FAILED
    assert calls == ["apply_migrations"]
    assert "apply_migrations failed before any traffic moved" in deployment.events.last().detail
    policy = staging.deployment_policy
    stats = HAProxyBalancer(policy.balancer_socket, policy.balancer_backend).stats()
    assert stats["green"].weight == 0 and stats["blue"].weight == 100


def test_start_guard__refusal__deployment_not_created(staging, monkeypatch):
    from deployments.exceptions import DeploymentRefused
    from deployments.models import Deployment
    from deployments.steps import register_start_guard

    monkeypatch.setattr("deployments.steps._guards", {})
    register_start_guard("migrations", lambda *, release, environment: f"{release} has unverified migrations.")
    release = Release.objects.create(version="v5", ref="release/5", ref_kind="branch")
    with pytest.raises(DeploymentRefused, match="v5 has unverified migrations."):
        services.start_deployment(release=release, environment=staging)
    assert not Deployment.objects.filter(release=release).exists()
