"""Proof 6: the deployment engine's §5 triggers read the monitoring catalog on a Prometheus-configured
environment — the same error-rate PromQL as the alert rules, and a true p95 from the storefront's histograms —
and HAProxy's built-in exporter as a catalog source where the storefront exposes no metrics of its own.

One real Prometheus for the module (the console's generated configuration, scrapes every 500 ms), stand-in
slots instrumented with prometheus_client, the engine's traffic tick run in process (no worker): the load
balancer's own view (weights, request counters, average response time) is a stub that shows no 5xx and a 1 s
average, so any verdict below can only come from the catalog.
"""

import pytest
from django.test import override_settings
from django.utils import timezone

from deployments.choices import DeploymentStatus as S
from deployments.choices import TriggerKind
from deployments.drivers.base import ServerStats
from deployments.engine import rollback, traffic
from deployments.engine.triggers import evaluate
from deployments.models import Deployment, MetricSample, Release, Slot
from monitoring import public, services
from monitoring.models import ScrapeTarget
from tests.conftest import wait_until
from tests.monitoring.conftest import engine_settings
from tests.monitoring.engines import HAProxy, Storefront

pytestmark = pytest.mark.django_db

# 80 % of requests take 0.25 s and 20 % take 4 s: an average of 1 s, a p95 of about 4 s (bucket 3.9–4).
SLOW = [0.25] * 4 + [4.0]
BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 3.9, 4, 5)


@pytest.fixture(scope="module")
def fronts():
    fast_failing = Storefront(slot="green")
    fast_failing.error_percent = 8
    slow = Storefront(slot="blue", latencies=SLOW, buckets=BUCKETS)
    yield {"green": fast_failing, "blue": slow}
    fast_failing.close()
    slow.close()


class HAProxyView:
    """What HAProxy's stats socket would show: the engine's weights, requests counting up, no 5xx, 1 s average."""

    reports_stats = True
    needs_confirmation = False

    def __init__(self):
        self.weights, self.requests = {}, 0

    def set_weight(self, server, weight):
        self.weights[server] = weight

    def set_state(self, server, state):
        pass

    def stats(self):
        self.requests += 50
        return {
            name: ServerStats(
                name=name,
                status="UP",
                check_status="L7OK",
                weight=weight,
                req_tot=self.requests,
                hrsp_5xx=0,
                rtime_ms=1000,
            )  # fmt: skip
            for name, weight in self.weights.items()
        }


@pytest.fixture
def production(seeded, env, fronts, monkeypatch):
    production = env("production")
    policy = production.deployment_policy
    policy.prometheus_url = ""  # not the policy's own Prometheus: the console's, through the catalog
    policy.min_requests = 20
    policy.save()
    policy.triggers.filter(kind=TriggerKind.ERROR_RATE).update(threshold=5.0, window_seconds=5, enabled=True)
    policy.triggers.filter(kind=TriggerKind.P95_LATENCY).update(threshold=3.0, window_seconds=5, promql="",
                                                                 enabled=True)  # fmt: skip
    Slot.objects.filter(environment=production).delete()
    for color, front in fronts.items():
        Slot.objects.create(environment=production, color=color, address=front.address, server_name=color)
        ScrapeTarget.objects.create(environment=production, kind="storefront", address=front.address, slot=color)
    view = HAProxyView()
    monkeypatch.setattr(traffic, "balancer_for", lambda policy: view)
    monkeypatch.setattr(rollback, "balancer_for", lambda policy: view)
    return production


def _shifting(environment, *, to, weight=10):
    release = Release.objects.create(version=f"v3.{Deployment.objects.count()}", ref="release/3", ref_kind="branch")
    slots = {s.color: s for s in Slot.objects.filter(environment=environment)}
    now = timezone.now()
    from_color = "blue" if to == "green" else "green"
    return Deployment.objects.create(
        release=release, environment=environment, strategy=environment.deployment_policy.strategy,
        from_slot=slots[from_color], to_slot=slots[to], status=S.SHIFTING_TRAFFIC, started_at=now,
        traffic_weight=weight, traffic_step=0, hold_started_at=now, heartbeat_at=now,
    )  # fmt: skip


def _set_weights(deployment):
    view = traffic.balancer_for(None)
    view.weights = {deployment.to_slot.server_name: deployment.traffic_weight,
                    deployment.from_slot.server_name: 100 - deployment.traffic_weight}  # fmt: skip


def _tick_until(deployment, *statuses):
    """The engine's traffic tick, as the worker runs it, until the deployment leaves shifting traffic."""

    def ticked():
        traffic.shift(deployment)
        deployment.refresh_from_db()
        return deployment.status in statuses

    wait_until(ticked, timeout=30, interval=0.5, what=f"deployment to reach {statuses}")
    return deployment


def test_deployment__catalog_error_rate_of_the_new_slot__rolls_back(production, engines):
    with engine_settings(engines):
        services.apply_configuration()
        deployment = _shifting(production, to="green")
        _set_weights(deployment)
        # HAProxy's counters alone see no 5xx: without the console's Prometheus, no verdict.
        with override_settings(OPS_MONITORING_PROMETHEUS_URL=""):
            traffic.sample(deployment, traffic.balancer_for(None))
            traffic.sample(deployment, traffic.balancer_for(None))
            assert evaluate(deployment, production.deployment_policy, timezone.now()) is None

        _tick_until(deployment, S.ROLLED_BACK, S.ROLLING_BACK, S.PAUSED, S.FAILED)

    assert deployment.status == S.ROLLED_BACK, list(deployment.events.values_list("detail", flat=True))
    reason = deployment.events.filter(detail__startswith="Automatic rollback").get().detail
    assert "(Prometheus, catalog error_rate;" in reason
    rate = float(reason.split("5xx rate ")[1].split("%")[0])
    assert 5 < rate < 12  # the slot serves 8 % 5xx
    assert MetricSample.objects.filter(deployment=deployment, hrsp_5xx__gt=0).count() == 0


def test_deployment__histogram_p95_4s_while_average_1s__pauses_on_the_true_p95(production, engines, fronts):
    with engine_settings(engines):
        services.apply_configuration()
        window = 'environment="production",slot="blue"}[5s]'
        average = wait_until(
            lambda: public.prometheus_value(f"rate(http_request_duration_seconds_sum{{{window})"
                                            f" / rate(http_request_duration_seconds_count{{{window})"),
            timeout=20, what="the slow slot's average",
        )  # fmt: skip
        # About 1 s: a 5 s window cuts the storefront's 4-fast-1-slow cycle anywhere (1.07 s seen in CI).
        assert average == pytest.approx(1.0, abs=0.2)

        deployment = _shifting(production, to="blue")
        _set_weights(deployment)
        _tick_until(deployment, S.PAUSED, S.ROLLING_BACK, S.ROLLED_BACK, S.FAILED)

    assert deployment.status == S.PAUSED
    detail = deployment.events.filter(kind="alert").last().detail
    assert "(Prometheus, catalog response_time_p95)" in detail
    p95 = float(detail.split("p95 ")[1].split("s")[0])
    assert 3.5 < p95 <= 4.0  # HAProxy's average (1 s, in every sample) would not have paused it
    assert set(MetricSample.objects.filter(deployment=deployment).values_list("p95_seconds", flat=True)) == {1.0}


def test_haproxy_exporter__scraped_per_environment__catalog_error_rate_of_a_slot_from_it(
    seeded, env, engines, fronts, tmp_path
):
    """Staging's storefront exposes no metrics: its request rate and 5xx share come from HAProxy's endpoint."""
    staging = env("staging")
    staging.monitoring_enabled = True
    staging.save(update_fields=["monitoring_enabled"])
    behind = Storefront(slot="green", rate_per_second=40)
    behind.error_percent = 8
    proxy = HAProxy(tmp_path, green=behind.address)
    behind.via = proxy.url
    try:
        ScrapeTarget.objects.create(environment=staging, kind="haproxy", address=proxy.address)
        with engine_settings(engines):
            services.apply_configuration()
            assert public.watches(staging)
            query = public.metric_query("error_rate", environment="staging", slot="green", window="5s")
            requests = public.metric_query("request_rate", environment="staging", slot="green", window="5s")

            def share_over_a_full_window():
                # The first value can come from a handful of requests (1 in 8 is 12.5 %): read the share once the
                # 5 s window holds 100 or more of them, where the slot's exact 8 in every 100 shows as 8 ± 1 %.
                per_second = public.prometheus_value(requests)
                return public.prometheus_value(query) if per_second and per_second * 5 >= 100 else None

            rate = wait_until(share_over_a_full_window, timeout=30, what="HAProxy's 5xx share over 100 requests")
            assert 4 < rate < 12
            assert public.prometheus_value(requests) > 0  # the shoppers, counted by HAProxy
            assert public.slot_value("response_time_p95", environment=staging, slot="green", window_seconds=5) is None
    finally:
        proxy.stop()
        behind.close()
