"""Deployments in a given state, built with the ORM (no engine, no worker): what the page shows for each."""

from datetime import timedelta

from django.utils import timezone

from deployments.choices import BalancerKind, DeploymentStatus, SlotRole, StepStatus
from deployments.models import Deployment, DeploymentEvent, DeploymentPolicy, DeploymentStep, Release, Slot
from environments.models import Environment

STEPS = ["deploy", "smoke_tests", "health_checks", "traffic_10", "traffic_50", "traffic_100"]


def staging_on_manual_balancer():
    """Staging as the issue found it: a manual load balancer, blue live on v1, green idle."""
    staging = Environment.objects.get(key="staging")
    DeploymentPolicy.objects.filter(environment=staging).update(balancer=BalancerKind.MANUAL, four_eyes=False)
    v1 = Release.objects.create(version="v1", ref="release/1.0", ref_kind="branch")
    blue = Slot.objects.create(
        environment=staging, color="blue", address="127.0.0.1:9101", server_name="blue", release=v1, role=SlotRole.LIVE
    )
    green = Slot.objects.create(environment=staging, color="green", address="127.0.0.1:9102", server_name="green")
    return staging, blue, green


def shifting_deployment(staging, blue, green, *, version="v2.2", hold_elapsed=20):
    """At 10% on green, holding (the first hold is 300 s), the deploy log expandable."""
    now = timezone.now()
    release = Release.objects.create(version=version, ref=f"release/{version[1:]}", ref_kind="branch")
    deployment = Deployment.objects.create(
        release=release, environment=staging, strategy="blue_green", from_slot=blue, to_slot=green,
        status=DeploymentStatus.SHIFTING_TRAFFIC, started_at=now - timedelta(minutes=4), traffic_weight=10,
        traffic_step=0, hold_started_at=now - timedelta(seconds=hold_elapsed), weights_confirmed_at=now,
    )  # fmt: skip
    for order, name in enumerate(STEPS):
        status = StepStatus.PASSED if order < 3 else StepStatus.RUNNING if order == 3 else StepStatus.PENDING
        DeploymentStep.objects.create(
            deployment=deployment, name=name, order=order, status=status,
            started_at=now - timedelta(minutes=4 - order) if order <= 3 else None,
            finished_at=now - timedelta(minutes=3 - order) if order < 3 else None,
            output="deploy.sh green release/2.2\nok" if name == "deploy" else "",
        )  # fmt: skip
    DeploymentEvent.objects.create(deployment=deployment, at=now, actor="engine", kind="traffic",
                                   detail="Traffic: 10% on green")  # fmt: skip
    return deployment


def aborted_production_deployment():
    """An aborted production deployment, all of whose steps were skipped."""
    production = Environment.objects.get(key="production")
    now = timezone.now()
    release = Release.objects.create(version="v9.0", ref="v9.0", ref_kind="tag")
    deployment = Deployment.objects.create(
        release=release, environment=production, strategy="blue_green", status=DeploymentStatus.ABORTED,
        finished_at=now,
    )  # fmt: skip
    DeploymentStep.objects.bulk_create(
        DeploymentStep(deployment=deployment, name=name, order=i, status=StepStatus.SKIPPED, finished_at=now)
        for i, name in enumerate(STEPS)
    )
    return deployment
