"""The engine's rules, in process: trigger evaluation on samples, and each branch of reconcile.

No worker, no HAProxy: samples are written as the engine writes them, and reconcile runs here.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.choices import DeploymentStatus as S
from deployments.choices import TriggerAction, TriggerKind
from deployments.drivers.base import ServerStats
from deployments.engine import reconcile as reconciling
from deployments.engine.traffic import weight_drift
from deployments.engine.triggers import evaluate, first_breach
from deployments.models import Deployment, MetricSample, Release, Slot

T0 = timezone.now().replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def staging(seeded_module, db, env):
    staging = env("staging")
    policy = staging.deployment_policy
    policy.min_requests = 20
    policy.prometheus_url = ""
    policy.stale_after_seconds = 60
    policy.deploy_timeout_seconds = 600
    policy.save()
    policy.triggers.filter(kind=TriggerKind.ERROR_RATE).update(threshold=5.0, window_seconds=300)
    policy.triggers.filter(kind=TriggerKind.P95_LATENCY).update(threshold=3.0, window_seconds=300, promql="")
    v1 = Release.objects.create(version="v1", ref="release/1", ref_kind="branch")
    Slot.objects.create(
        environment=staging, color="blue", address="127.0.0.1:9", server_name="blue", release=v1, role="live"
    )
    Slot.objects.create(environment=staging, color="green", address="127.0.0.1:10", server_name="green")
    return staging


def _deployment(staging, status=S.SHIFTING_TRAFFIC, **fields):
    release = Release.objects.create(version=f"v2.{Deployment.objects.count()}", ref="release/2", ref_kind="branch")
    values = {
        "release": release,
        "environment": staging,
        "strategy": staging.deployment_policy.strategy,
        "from_slot": Slot.objects.get(environment=staging, color="blue"),
        "to_slot": Slot.objects.get(environment=staging, color="green"),
        "status": status,
        "started_at": T0,
        "traffic_weight": 10,
        "traffic_step": 0,
        "hold_started_at": T0,
        "heartbeat_at": timezone.now(),
    } | fields
    return Deployment.objects.create(**values)


def _samples(deployment, *counts, every=10, start=T0, rtime=None):
    """One sample per (requests, 5xx) cumulative pair on the new slot, `every` seconds apart."""
    rows = [
        MetricSample(
            deployment=deployment,
            slot=deployment.to_slot,
            taken_at=start + timedelta(seconds=i * every),
            req_tot=requests,
            hrsp_5xx=errors,
            weight=deployment.traffic_weight,
            p95_seconds=rtime,
        )
        for i, (requests, errors) in enumerate(counts)
    ]
    MetricSample.objects.bulk_create(rows)
    return list(MetricSample.objects.filter(deployment=deployment).order_by("taken_at"))


# --- first_breach -------------------------------------------------------------------------------------


def test_first_breach__rate_crosses_at_third_sample__returns_that_sample(staging):
    # Given 100 clean requests, then 10 of the next 100 failing: the running rate is 5% after the
    # second step (not over 5%) and 10% after the third
    samples = _samples(_deployment(staging), (0, 0), (100, 0), (200, 10), (300, 30))

    # Then the breach is dated at the first sample whose running rate went over the threshold
    assert first_breach(samples, 5.0) == samples[3].taken_at


def test_first_breach__errors_from_the_first_step__returns_the_second_sample(staging):
    samples = _samples(_deployment(staging), (0, 0), (50, 10), (100, 20))

    assert first_breach(samples, 5.0) == samples[1].taken_at


def test_first_breach__never_over__falls_back_to_the_last_sample(staging):
    # (the caller only asks when the window as a whole is over: a reset counter can make it so)
    samples = _samples(_deployment(staging), (0, 0), (100, 1), (200, 2))

    assert first_breach(samples, 5.0) == samples[-1].taken_at


# --- evaluate -------------------------------------------------------------------------------------------


def _now(samples):
    return samples[-1].taken_at


def test_evaluate__5xx_over_threshold_with_enough_requests__rollback_on_the_error_trigger(staging):
    deployment = _deployment(staging)
    samples = _samples(deployment, (0, 0), (100, 0), (200, 20))

    action, trigger, detail, detected_at = evaluate(deployment, staging.deployment_policy, _now(samples))

    assert action == TriggerAction.ROLLBACK and trigger.kind == TriggerKind.ERROR_RATE
    assert detail == "5xx rate 10.0% > 5% over the last 300s (20 of 200 requests)"
    assert detected_at == samples[2].taken_at


def test_evaluate__5xx_over_threshold_on_too_few_requests__no_verdict(staging):
    deployment = _deployment(staging)
    samples = _samples(deployment, (0, 0), (19, 19))  # every request failed, but 19 < min_requests

    assert evaluate(deployment, staging.deployment_policy, _now(samples)) is None


def test_evaluate__5xx_under_threshold__nothing(staging):
    deployment = _deployment(staging)
    samples = _samples(deployment, (0, 0), (1000, 50))  # exactly 5%: not over

    assert evaluate(deployment, staging.deployment_policy, _now(samples)) is None


def test_evaluate__errors_older_than_the_window__not_counted(staging):
    # Given errors in the first minute, then ten clean minutes
    deployment = _deployment(staging)
    samples = _samples(deployment, (0, 0), (100, 50), *((100 + 100 * i, 50) for i in range(1, 11)), every=60)

    # Then the 300 s window only sees the clean part
    assert evaluate(deployment, staging.deployment_policy, _now(samples)) is None


def test_evaluate__samples_before_traffic_started__not_counted(staging):
    # Given a deployment whose traffic started after the failing samples were taken
    deployment = _deployment(staging, started_at=T0 + timedelta(seconds=20))
    samples = _samples(deployment, (0, 0), (100, 50), (200, 50), (300, 50))

    assert evaluate(deployment, staging.deployment_policy, _now(samples)) is None


def test_evaluate__disabled_error_trigger__ignored(staging):
    staging.deployment_policy.triggers.filter(kind=TriggerKind.ERROR_RATE).update(enabled=False)
    deployment = _deployment(staging)
    samples = _samples(deployment, (0, 0), (100, 100))

    assert evaluate(deployment, staging.deployment_policy, _now(samples)) is None


def test_evaluate__haproxy_rtime_over_p95_threshold__pause_with_its_source(staging):
    deployment = _deployment(staging)
    samples = _samples(deployment, (0, 0), (100, 0), rtime=3.5)

    action, trigger, detail, detected_at = evaluate(deployment, staging.deployment_policy, _now(samples))

    assert action == TriggerAction.PAUSE and trigger.kind == TriggerKind.P95_LATENCY
    assert detail.startswith("p95 3.50s > 3s (HAProxy rtime")
    assert detected_at == _now(samples)


def test_evaluate__errors_and_latency_both_over__the_error_rollback_wins(staging):
    deployment = _deployment(staging)
    samples = _samples(deployment, (0, 0), (100, 50), rtime=3.5)

    action, trigger, _, _ = evaluate(deployment, staging.deployment_policy, _now(samples))

    assert (action, trigger.kind) == (TriggerAction.ROLLBACK, TriggerKind.ERROR_RATE)


def test_evaluate__health_failures_at_threshold__rollback_on_the_health_trigger(staging):
    deployment = _deployment(staging, health_failures=3)
    samples = _samples(deployment, (0, 0), (100, 0))

    action, trigger, detail, _ = evaluate(deployment, staging.deployment_policy, _now(samples))

    assert (action, trigger.kind) == (TriggerAction.ROLLBACK, TriggerKind.HEALTH_CHECK)
    assert detail == "3 consecutive health-check failures on the new slot"


def test_evaluate__healthy_clean_fast__nothing(staging):
    deployment = _deployment(staging, health_failures=2)
    samples = _samples(deployment, (0, 0), (100, 1), rtime=0.2)

    assert evaluate(deployment, staging.deployment_policy, _now(samples)) is None


# --- reconcile ------------------------------------------------------------------------------------------


def _silent_for(seconds):
    return timezone.now() - timedelta(seconds=seconds)


def test_reconcile__heartbeat_fresh__left_alone(staging, django_capture_on_commit_callbacks):
    deployment = _deployment(staging, heartbeat_at=_silent_for(30))
    token = deployment.run_token

    with django_capture_on_commit_callbacks() as ticks:
        outcomes = reconciling.reconcile()

    deployment.refresh_from_db()
    assert outcomes == [] and ticks == []
    assert (deployment.status, deployment.run_token) == (S.SHIFTING_TRAFFIC, token)


def test_reconcile__stale_with_traffic__rolls_back_as_an_automatic_decision(
    staging, django_capture_on_commit_callbacks
):
    # Given a shift whose engine went silent 90 s ago (stale after 60 s)
    silent_since = _silent_for(90)
    deployment = _deployment(staging, heartbeat_at=silent_since)
    token = deployment.run_token

    # When reconcile runs
    with django_capture_on_commit_callbacks() as ticks:
        outcomes = reconciling.reconcile()

    # Then it decides to roll back, dated from the last sign of life, and hands it to a new run
    deployment.refresh_from_db()
    assert outcomes == [f"#{deployment.pk} rolled back"]
    assert deployment.status == S.ROLLING_BACK
    assert deployment.rollback_automatic and deployment.rollback_trigger is None
    assert deployment.detected_at == silent_since <= deployment.decided_at
    assert deployment.rollback_reason.startswith("Engine silent since") and "10% on an unverified slot" in (
        deployment.rollback_reason
    )
    assert deployment.run_token != token and len(ticks) == 1
    assert deployment.events.filter(new_status=S.ROLLING_BACK, detail__startswith="Reconcile: ").exists()


def test_reconcile__stale_while_rolling_back__resumes_the_rollback_without_a_new_decision(
    staging, django_capture_on_commit_callbacks
):
    decided = _silent_for(120)
    deployment = _deployment(staging, status=S.ROLLING_BACK, heartbeat_at=_silent_for(90), decided_at=decided)
    token = deployment.run_token

    with django_capture_on_commit_callbacks() as ticks:
        outcomes = reconciling.reconcile()

    deployment.refresh_from_db()
    assert outcomes == [f"#{deployment.pk} resumed"]
    assert (deployment.status, deployment.decided_at) == (S.ROLLING_BACK, decided)
    assert deployment.run_token != token and len(ticks) == 1


def test_reconcile__stale_before_traffic__resumes_where_it_was(staging, django_capture_on_commit_callbacks):
    deployment = _deployment(staging, status=S.HEALTH_CHECKING, traffic_weight=0, heartbeat_at=_silent_for(90))

    with django_capture_on_commit_callbacks() as ticks:
        outcomes = reconciling.reconcile()

    deployment.refresh_from_db()
    assert outcomes == [f"#{deployment.pk} resumed"] and len(ticks) == 1
    assert deployment.status == S.HEALTH_CHECKING
    assert deployment.events.filter(kind="note", detail="Reconcile: resumed health_checking").exists()


def test_reconcile__deploying__waits_for_the_deploy_timeout_too(staging, django_capture_on_commit_callbacks):
    # Given a deploy command silent past stale_after (60 s), within stale_after + deploy_timeout (660 s)
    running = _deployment(staging, status=S.DEPLOYING, traffic_weight=0, heartbeat_at=_silent_for(300))

    # Then it is still running its command: left alone
    assert reconciling.reconcile() == []

    # When it stays silent past both
    Deployment.objects.filter(pk=running.pk).update(heartbeat_at=_silent_for(700))
    with django_capture_on_commit_callbacks() as ticks:
        outcomes = reconciling.reconcile()

    # Then it is resumed
    assert outcomes == [f"#{running.pk} resumed"] and len(ticks) == 1


def test_reconcile__waiting_for_a_person__not_the_engines_to_resume(staging):
    _deployment(staging, status=S.PAUSED, heartbeat_at=_silent_for(3600))

    assert reconciling.reconcile() == []


def test_reconcile__ticked_between_scan_and_lock__left_to_the_live_engine(staging, monkeypatch):
    # Given a stale shift whose engine ticks just as reconcile reaches it
    deployment = _deployment(staging, heartbeat_at=_silent_for(90))
    token = deployment.run_token
    lock = reconciling.locked

    def tick_lands_first(pk):
        Deployment.objects.filter(pk=pk).update(heartbeat_at=timezone.now())
        return lock(pk)

    monkeypatch.setattr(reconciling, "locked", tick_lands_first)

    # When reconcile runs
    outcomes = reconciling.reconcile()

    # Then it leaves the deployment to the engine that is alive after all
    deployment.refresh_from_db()
    assert outcomes == []
    assert (deployment.status, deployment.run_token) == (S.SHIFTING_TRAFFIC, token)


# --- weight drift --------------------------------------------------------------------------------------


def _shown(**weights):
    return {
        name: ServerStats(name=name, status="UP", check_status="", weight=w, req_tot=0, hrsp_5xx=0, rtime_ms=None)
        for name, w in weights.items()
    }


def test_weight_drift__load_balancer_shows_the_engines_weights__none(staging):
    deployment = _deployment(staging, traffic_weight=50)

    assert weight_drift(deployment, _shown(green=50, blue=50)) == []


def test_weight_drift__changed_by_hand__says_what_was_found_for_each_slot(staging):
    deployment = _deployment(staging, traffic_weight=10)

    assert weight_drift(deployment, _shown(green=30, blue=90)) == ["green at 30 (the engine set 10)"]
    assert weight_drift(deployment, _shown(green=0, blue=100)) == [
        "green at 0 (the engine set 10)",
        "blue at 100 (the engine set 90)",
    ]


def test_weight_drift__no_stats__none(staging):
    # (a manual load balancer reports none: a person confirms the weights instead)
    assert weight_drift(_deployment(staging), {}) == []
