"""End to end on real parts: HAProxy, two stand-in slots, shoppers, and a real Celery worker.

Windows and holds are seconds instead of minutes (set through the policy, as ops would).
"""

import pytest
from django.utils import timezone

from deployments import services
from deployments.choices import DeploymentStatus as S
from deployments.choices import TriggerKind
from deployments.drivers.haproxy import HAProxyBalancer
from deployments.exceptions import DeploymentRefused
from deployments.models import Deployment, DeploymentPolicy, MetricSample, Release, Slot
from deployments.tasks import reconcile_deployments
from tests.conftest import wait_until
from tests.deployments.standins import Behaviour

pytestmark = pytest.mark.worker
TOLERANCE = 6  # percentage points between the weight set and the split HAProxy served


def _release(version):
    return Release.objects.create(version=version, ref=f"release/{version}", ref_kind="branch")


def _wait_status(deployment, *statuses, timeout=60):
    def reached():
        deployment.refresh_from_db()
        return deployment.status in statuses

    wait_until(reached, timeout=timeout, what=f"deployment #{deployment.pk} to reach {statuses}")
    return deployment


def _served_split(deployment):
    """Per traffic weight: the share of requests HAProxy sent to the new slot, from the engine's samples."""
    rows = list(MetricSample.objects.filter(deployment=deployment).order_by("taken_at", "slot_id"))
    by_time = {}
    for row in rows:
        by_time.setdefault(row.taken_at, {})[row.slot_id] = row
    instants = sorted(by_time)
    new, old = deployment.to_slot_id, deployment.from_slot_id
    totals = {}
    for before, after in zip(instants, instants[1:], strict=False):
        a, b = by_time[before], by_time[after]
        if new not in a or new not in b or old not in a or old not in b or a[new].weight != b[new].weight:
            continue
        weight = b[new].weight
        served = totals.setdefault(weight, [0, 0])
        served[0] += b[new].req_tot - a[new].req_tot
        served[1] += b[old].req_tot - a[old].req_tot
    return {w: 100.0 * n / (n + o) for w, (n, o) in totals.items() if n + o}


def _stats(staging):
    policy = staging.deployment_policy
    return HAProxyBalancer(policy.balancer_socket, policy.balancer_backend).stats()


def test_happy_path__10_50_100__green_live_blue_standby(worker, staging, shoppers):
    deployment = services.start_deployment(release=_release("v2.0"), environment=staging)

    _wait_status(deployment, S.SUCCEEDED, S.FAILED, S.ROLLED_BACK, S.PAUSED)

    assert deployment.status == S.SUCCEEDED, _timeline(deployment)
    split = _served_split(deployment)
    assert set(split) == {10, 50, 100}
    for weight, served in split.items():
        assert abs(served - weight) <= TOLERANCE, f"at {weight}% HAProxy served {served:.1f}% to green"
    roles = dict(Slot.objects.filter(environment=staging).values_list("color", "role"))
    assert roles == {"green": "live", "blue": "standby"}
    assert Slot.objects.get(environment=staging, color="green").release.version == "v2.0"
    ticked = set(
        deployment.checklist.filter(item__phase="deploy", checked_at__isnull=False).values_list("item__key", flat=True)
    )
    assert ticked == {
        "deploy_inactive",
        "run_smoke_tests",
        "verify_health_checks",
        "switch_traffic",
        "monitor_error_rates",
    }
    # Post-deployment items are the post-deployment round's (default queue), and "Review error logs" a person's.
    assert not deployment.checklist.filter(item__key="review_error_logs", checked_at__isnull=False).exists()
    assert list(deployment.steps.values_list("status", flat=True)) == ["passed"] * 6
    stats = _stats(staging)
    assert (stats["green"].weight, stats["blue"].weight) == (100, 0)


def test_bad_release__20_percent_5xx__automatic_rollback_to_blue(worker, staging, shoppers, slots):
    blue, green = slots
    green.behaviours["v2.1"] = Behaviour(error_fraction=0.2)
    deployment = services.start_deployment(release=_release("v2.1"), environment=staging)

    _wait_status(deployment, S.ROLLED_BACK, S.SUCCEEDED, S.FAILED)

    assert deployment.status == S.ROLLED_BACK
    assert deployment.rollback_automatic and deployment.rollback_trigger.kind == TriggerKind.ERROR_RATE
    assert deployment.detected_at <= deployment.decided_at <= deployment.executed_at
    restored = (deployment.executed_at - deployment.detected_at).total_seconds()
    print(f"\nbreach to traffic restored: {restored:.2f}s (sampling interval 0.4s)")
    stats = _stats(staging)
    assert (stats["blue"].weight, stats["green"].weight, stats["green"].status) == (100, 0, "DRAIN")
    before = stats["green"].req_tot
    served_blue = stats["blue"].req_tot
    wait_until(lambda: _stats(staging)["blue"].req_tot > served_blue + 50, what="traffic flowing to blue")
    assert _stats(staging)["green"].req_tot == before
    roles = dict(Slot.objects.filter(environment=staging).values_list("color", "role"))
    assert roles == {"blue": "live", "green": "failed"}


def test_failing_health_checks__slot_in_maint__never_gets_traffic(worker, staging, shoppers, slots):
    blue, green = slots
    green.behaviours["v2.2"] = Behaviour(healthy=False)
    deployment = services.start_deployment(release=_release("v2.2"), environment=staging)

    _wait_status(deployment, S.FAILED, S.SUCCEEDED, S.ROLLED_BACK)

    assert deployment.status == S.FAILED
    assert "3 consecutive health-check failures" in deployment.events.last().detail
    stats = _stats(staging)
    assert stats["green"].status == "MAINT"
    assert stats["green"].req_tot == 0 and green.hits == 0  # shoppers never reached it through HAProxy
    assert deployment.traffic_weight == 0
    assert Slot.objects.get(environment=staging, color="blue").role == "live"


def test_slow_release__p95_over_threshold__pauses_then_person_rolls_back(worker, staging, shoppers, slots, make_user):
    blue, green = slots
    green.behaviours["v2.3"] = Behaviour(delay_seconds=0.25)
    staging.deployment_policy.triggers.filter(kind=TriggerKind.P95_LATENCY).update(threshold=0.2)
    deployment = services.start_deployment(release=_release("v2.3"), environment=staging)

    _wait_status(deployment, S.PAUSED, S.SUCCEEDED, S.ROLLED_BACK, S.FAILED)

    assert deployment.status == S.PAUSED
    assert deployment.events.filter(kind="alert", detail__contains="p95").exists()
    person = make_user("oncall", "deployments.operate_deployment")
    services.roll_back_now(deployment_id=deployment.pk, user=person)
    _wait_status(deployment, S.ROLLED_BACK, S.FAILED)
    assert deployment.status == S.ROLLED_BACK
    assert not deployment.rollback_automatic
    assert deployment.events.filter(user=person, new_status=S.ROLLING_BACK).exists()
    assert _stats(staging)["blue"].weight == 100


def test_worker_killed_mid_shift__reconcile_rolls_back__no_traffic_left_on_green(worker, staging, shoppers):
    staging.deployment_policy.traffic_steps.update(hold_seconds=30)
    deployment = services.start_deployment(release=_release("v2.4"), environment=staging)
    _wait_status(deployment, S.SHIFTING_TRAFFIC)
    wait_until(lambda: _stats(staging)["green"].req_tot > 5, what="green serving its first 10%")

    worker.kill_hard()
    worker.start()
    deployment.refresh_from_db()
    stale_after = staging.deployment_policy.stale_after_seconds
    wait_until(
        lambda: (timezone.now() - deployment.heartbeat_at).total_seconds() > stale_after,
        timeout=stale_after + 10,
        what="the dead engine's heartbeat to go stale",
    )
    assert "rolled back" in reconcile_deployments.delay().get(timeout=30)

    _wait_status(deployment, S.ROLLED_BACK, S.FAILED)
    assert deployment.status == S.ROLLED_BACK
    stats = _stats(staging)
    assert (stats["blue"].weight, stats["green"].weight) == (100, 0)


def test_concurrent_start__second_deployment_refused(worker, staging):
    staging.deployment_policy.traffic_steps.update(hold_seconds=30)
    first = services.start_deployment(release=_release("v2.5"), environment=staging)

    with pytest.raises(DeploymentRefused, match=f"already has a deployment in flight: #{first.pk}"):
        services.start_deployment(release=_release("v2.6"), environment=staging)

    assert Deployment.objects.filter(environment=staging).count() == 1


def _timeline(deployment):
    return "\n".join(f"{e.at:%H:%M:%S.%f} {e.kind}: {e.detail}" for e in deployment.events.all())


def test_manual_balancer__engine_waits_for_each_confirmation(worker, seeded_tx, slots, env, make_user):
    from deployments.models import DeploymentPolicy
    from tests.deployments.standins import DEPLOY_COMMAND

    blue, green = slots
    staging = env("staging")
    DeploymentPolicy.objects.filter(environment=staging).update(
        balancer="manual", deploy_command=DEPLOY_COMMAND, health_interval_seconds=0.2, health_passes_required=2,
        sample_interval_seconds=0.2, bake_minutes=0,  # no watch ticks left writing when the test's flush runs
    )  # fmt: skip
    staging.deployment_policy.traffic_steps.update(hold_seconds=0.3)
    v1 = Release.objects.create(version="v1", ref="release/1", ref_kind="branch")
    Slot.objects.create(
        environment=staging, color="blue", address=blue.address, server_name="blue", release=v1, role="live"
    )
    Slot.objects.create(environment=staging, color="green", address=green.address, server_name="green")
    person = make_user("oncall", "deployments.operate_deployment")
    deployment = services.start_deployment(release=_release("v2.7"), environment=staging)

    for weight in (10, 50, 100):
        wait_until(
            lambda w=weight: Deployment.objects.get(pk=deployment.pk).awaiting_weights.endswith(f"green {w}%"),
            what=f"the engine asking for green {weight}%",
        )
        services.confirm_weights(deployment_id=deployment.pk, user=person)

    _wait_status(deployment, S.SUCCEEDED, S.PAUSED, S.FAILED)
    assert deployment.status == S.SUCCEEDED, _timeline(deployment)
    assert deployment.events.filter(user=person, detail__startswith="Weights set:").count() == 3
    # Nothing was measured behind those holds, and the steps say so (issue 18: never "Passed — 0 requests")
    holds = deployment.steps.filter(name__startswith="traffic_")
    assert holds.count() == 3 and all("not measured" in step.output for step in holds)


P95_QUERY = 'histogram_quantile(0.95, sum(rate(storefront_request_duration_seconds_bucket{slot="{slot}"}[3s])) by (le))'


def test_slow_release__p95_from_real_prometheus__pauses_with_an_alert(worker, staging, shoppers, slots, prometheus):
    from deployments.metrics import prometheus_value

    blue, green = slots
    green.behaviours["v2.8"] = Behaviour(delay_seconds=0.3)
    DeploymentPolicy.objects.filter(environment=staging).update(prometheus_url=prometheus.url)
    staging.deployment_policy.triggers.filter(kind=TriggerKind.P95_LATENCY).update(threshold=0.25, promql=P95_QUERY)
    staging.deployment_policy.traffic_steps.update(hold_seconds=8)
    deployment = services.start_deployment(release=_release("v2.8"), environment=staging)

    _wait_status(deployment, S.PAUSED, S.SUCCEEDED, S.ROLLED_BACK, S.FAILED)

    assert deployment.status == S.PAUSED, _timeline(deployment)
    alert = deployment.events.filter(kind="alert").last()
    assert "(Prometheus)" in alert.detail and "p95" in alert.detail
    # blue, still serving most shoppers, is fast: once Prometheus has a 3 s window of its scrapes to answer from
    blue_p95 = wait_until(
        lambda: prometheus_value(prometheus.url, P95_QUERY.replace("{slot}", "blue")), timeout=30, what="blue's p95"
    )
    assert blue_p95 < 0.25


def test_weights_changed_by_hand_mid_shift__paused_with_an_alert__not_overwritten(worker, staging):
    from monitoring.models import Alert

    # Given a deployment holding green at 10%
    staging.deployment_policy.traffic_steps.update(hold_seconds=30)
    deployment = services.start_deployment(release=_release("v2.9"), environment=staging)
    wait_until(
        lambda: (_stats(staging)["green"].weight, _stats(staging)["blue"].weight) == (10, 90),
        what="green at 10% in HAProxy",
    )

    # When someone sets 30/70 by hand at HAProxy
    policy = staging.deployment_policy
    by_hand = HAProxyBalancer(policy.balancer_socket, policy.balancer_backend)
    by_hand.set_weight("green", 30)
    by_hand.set_weight("blue", 70)

    # Then the engine pauses and says what it found, with an alert, and leaves the weights as they were set
    _wait_status(deployment, S.PAUSED, S.SUCCEEDED, S.ROLLED_BACK, S.FAILED)
    assert deployment.status == S.PAUSED, _timeline(deployment)
    assert "green at 30 (the engine set 10)" in deployment.pause_reason
    assert "blue at 70 (the engine set 90)" in deployment.pause_reason
    alert = Alert.objects.get(name="DeploymentWeightDrift", environment=staging)
    assert f"Deployment #{deployment.pk}" in alert.summary
    stats = _stats(staging)
    assert (stats["green"].weight, stats["blue"].weight) == (30, 70)
    assert deployment.traffic_weight == 10
    assert deployment.events.filter(kind="traffic").count() == 1  # only the engine's own 10%
