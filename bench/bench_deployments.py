"""Automatic rollback speed on real parts: HAProxy, stand-in slots, shoppers and a Celery worker.

A release whose slot answers 500 to 20% of requests goes out; the figure is the time from the first
bad response reaching shoppers (traffic first moved to the new slot) to all traffic restored on the
standby slot, against the sampling interval. Goal: within one sampling interval plus 5 s.

Switch back: a succeeded deployment sent back to its standby slot by a person; the figure is the time from the
request (services.switch_back, as the admin, API and command call it) to HAProxy showing blue 100 / green 0,
read back from its stats socket. Goal: under 10 s on this rig (§5 allows 5 minutes).
"""

import os
import tempfile
import time
from pathlib import Path

from django.db import connection

SAMPLE_INTERVAL = 2.0
RUNS = 3


def _one_run(workdir):
    from deployments import services
    from deployments.choices import DeploymentStatus as S
    from deployments.models import Deployment, Release, Slot
    from incidents.public import Incident
    from tests.conftest import wait_until
    from tests.deployments.conftest import configure_staging
    from tests.deployments.standins import Behaviour, HAProxy, Shoppers, SlotServer

    workdir.mkdir()
    blue, green = SlotServer("blue"), SlotServer("green")
    proxy = HAProxy(workdir, blue, green)
    shoppers = Shoppers(proxy.url, threads=3)
    try:
        # The previous run's rollback opened an incident, which keeps its deployment.
        Incident.objects.filter(deployment__isnull=False).delete()
        Deployment.objects.all().delete()
        Slot.objects.all().delete()
        Release.objects.all().delete()
        staging = configure_staging(proxy, (blue, green), sample_interval_seconds=SAMPLE_INTERVAL, min_requests=50)
        staging.deployment_policy.traffic_steps.update(hold_seconds=30)
        staging.deployment_policy.triggers.filter(kind="error_rate").update(window_seconds=10)
        green.behaviours["bad"] = Behaviour(error_fraction=0.2)
        release = Release.objects.create(version="bad", ref="release/bad", ref_kind="branch")
        deployment = services.start_deployment(release=release, environment=staging)

        def finished():
            deployment.refresh_from_db()
            return deployment.status in {S.ROLLED_BACK, S.FAILED, S.SUCCEEDED, S.PAUSED}

        wait_until(finished, timeout=120, interval=0.1, what="the rollback")
        if deployment.status != S.ROLLED_BACK:
            last = deployment.events.order_by("-at").first()
            return None, f"ended {deployment.status}, not rolled back: {last.detail if last else ''}"
        # Its report is written by the worker; the next run clears it.
        wait_until(lambda: Incident.objects.filter(deployment=deployment).exists(), timeout=30,
                   what="the rollback's incident")  # fmt: skip
        first_bad = deployment.steps.get(name="traffic_10").started_at
        restored = (deployment.executed_at - first_bad).total_seconds()
        detection = (deployment.executed_at - deployment.detected_at).total_seconds()
        return restored, f"first bad response → restored {restored:.2f}s; detection → restored {detection:.3f}s"
    finally:
        shoppers.stop()
        proxy.stop()
        blue.close()
        green.close()


SWITCH_BACK_GOAL = 10.0


def _deleted(queryset):
    """True once `queryset` is deleted; False while a worker is still adding rows that point at it."""
    from django.db import IntegrityError

    try:
        queryset.delete()
    except IntegrityError:
        return False
    return True


def _switch_back_runs(workdir):
    """RUNS switch backs on one rig: each deploys a release to success, then times the switch back."""
    from deployments import services
    from deployments.choices import DeploymentStatus as S
    from deployments.drivers.haproxy import HAProxyBalancer
    from deployments.models import Deployment, Release, Slot
    from incidents.public import Incident
    from tests.conftest import wait_until
    from tests.deployments.conftest import configure_staging
    from tests.deployments.standins import HAProxy, Shoppers, SlotServer

    workdir.mkdir()
    blue, green = SlotServer("blue"), SlotServer("green")
    proxy = HAProxy(workdir, blue, green)
    shoppers = Shoppers(proxy.url, threads=3)
    balancer = HAProxyBalancer(proxy.socket, "storefront")
    lines, times = [], []
    try:
        for attempt in range(RUNS):
            # Every executed rollback's incident is opened by the worker: let it land before clearing.
            wait_until(lambda: not Deployment.objects.filter(executed_at__isnull=False, incident__isnull=True).exists(),
                       timeout=60, what="the incidents of earlier rollbacks")  # fmt: skip
            # Its notifications are written by the worker too, a moment later: clear once none is being added.
            wait_until(lambda: _deleted(Incident.objects.filter(deployment__isnull=False)), timeout=60,
                       what="the earlier incidents to be cleared")  # fmt: skip
            Deployment.objects.all().delete()
            Slot.objects.all().delete()
            Release.objects.all().delete()
            for name, weight in (("blue", 100), ("green", 0)):
                balancer.set_state(name, "ready")
                balancer.set_weight(name, weight)
            staging = configure_staging(proxy, (blue, green), sample_interval_seconds=0.5)
            staging.deployment_policy.traffic_steps.update(hold_seconds=1.0)
            release = Release.objects.create(version=f"sb{attempt}", ref=f"release/sb{attempt}", ref_kind="branch")
            deployment = services.start_deployment(release=release, environment=staging)
            wait_until(lambda d=deployment: Deployment.objects.get(pk=d.pk).status in {S.SUCCEEDED, S.FAILED},
                       timeout=120, interval=0.1, what="the deployment")  # fmt: skip
            started = time.perf_counter()
            services.switch_back(deployment_id=deployment.pk, user=None, reason="bench: switch back")

            def verified():
                stats = balancer.stats()
                return stats["blue"].weight == 100 and stats["green"].weight == 0

            wait_until(verified, timeout=60, interval=0.01, what="blue 100 / green 0 at HAProxy")
            elapsed = time.perf_counter() - started
            # The worker's transaction commits just after the weights: let it, and the incident, land.
            wait_until(lambda d=deployment: Incident.objects.filter(deployment=d).exists(), timeout=60,
                       what="the switch back's incident")  # fmt: skip
            times.append(elapsed)
            lines.append(f"switch back run {attempt + 1}: request → HAProxy weights verified {elapsed:.2f}s")
    finally:
        shoppers.stop()
        proxy.stop()
        blue.close()
        green.close()
    worst = max(times)
    lines.append(
        f"worst switch back {worst:.2f}s vs goal {SWITCH_BACK_GOAL:g}s = {worst / SWITCH_BACK_GOAL:.2f}x "
        f"(§5's manual rollback allows 300s): {'met' if worst < SWITCH_BACK_GOAL else 'MISSED'}"
    )
    return lines


def run():
    from tests.conftest import CeleryWorkerProcess, database_url_for

    env = {**os.environ, "DATABASE_URL": database_url_for(connection.settings_dict)}
    workdir = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    worker = CeleryWorkerProcess(env, workdir / "worker.log")
    worker.start()
    lines, restores = [], []
    try:
        for attempt in range(RUNS):
            restored, line = _one_run(workdir / f"run{attempt}")
            lines.append(f"run {attempt + 1}: {line}")
            if restored is not None:
                restores.append(restored)
        switch_back_lines = _switch_back_runs(workdir / "switch-back")
    finally:
        worker.stop()
    if restores:
        worst, budget = max(restores), SAMPLE_INTERVAL + 5
        lines.append(
            f"worst breach → restored {worst:.2f}s vs sampling interval {SAMPLE_INTERVAL:g}s = "
            f"{worst / SAMPLE_INTERVAL:.2f}x (goal ≤ {budget / SAMPLE_INTERVAL:.2f}x, i.e. ≤ {budget:g}s; "
            f"the strategy's critical total is < 600s): {'met' if worst <= budget else 'MISSED'}"
        )
    return lines + switch_back_lines
