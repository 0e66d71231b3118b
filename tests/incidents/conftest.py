from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.choices import Color, DeploymentStatus
from deployments.models import Deployment, DeploymentEvent, Release, RollbackTrigger
from environments.models import Environment
from tests.deployments.conftest import haproxy, shoppers, slots, staging  # noqa: F401 - real-engine fixtures
from tests.incidents.standins import SMTPServer, WebhookReceiver


@pytest.fixture(autouse=True)
def eager_tasks(request):
    """Outside the worker tests, tasks run in-process (retries included) so nothing is left on the broker."""
    if request.node.get_closest_marker("worker"):
        yield
        return
    from amarise_ops.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def smtp_refusing():
    server = SMTPServer(refuse=1000)
    yield server
    server.close()


@pytest.fixture
def smtp_flaky():
    server = SMTPServer(refuse=1)
    yield server
    server.close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def make_rolled_back(
    *,
    env_key="staging",
    version="v9.1",
    trigger_kind="error_rate",
    automatic=True,
    traffic_to_detect=60,
    detect_to_decide=30,
    decide_to_execute=20,
    user=None,
    status=DeploymentStatus.ROLLED_BACK,
):
    """A deployment as the engine leaves it after a rollback: the three instants and its timeline."""
    environment = Environment.objects.get(key=env_key)
    release = Release.objects.create(version=version, ref=f"release/{version}", ref_kind="branch")
    traffic = timezone.now() - timedelta(seconds=traffic_to_detect + detect_to_decide + decide_to_execute + 5)
    detected = traffic + timedelta(seconds=traffic_to_detect)
    decided = detected + timedelta(seconds=detect_to_decide)
    executed = decided + timedelta(seconds=decide_to_execute)
    trigger = None
    if automatic and trigger_kind:
        trigger = RollbackTrigger.objects.get(policy__environment=environment, kind=trigger_kind)
    deployment = Deployment.objects.create(
        release=release,
        environment=environment,
        strategy="blue_green",
        status=status,
        started_at=traffic - timedelta(seconds=30),
        detected_at=detected,
        decided_at=decided,
        executed_at=executed,
        rollback_automatic=automatic,
        rollback_trigger=trigger,
        rollback_reason="5xx rate 20.0% > 5%" if automatic else "Roll back now (manual)",
    )
    events = [
        (traffic, "engine", None, "transition", "shifting_traffic", f"Traffic: 10% on {Color.GREEN}"),
        (detected, "engine", None, "trigger", "", "5xx rate 20.0% > 5%: automatic rollback"),
        (decided, "person" if user else "engine", user, "transition", "rolling_back", "Rolling back"),
        (executed, "engine", None, "transition", "rolled_back", "All traffic on blue"),
    ]
    for at, actor, who, kind, new_status, detail in events:
        DeploymentEvent.objects.create(
            deployment=deployment, at=at, actor=actor, user=who, kind=kind, new_status=new_status, detail=detail
        )
    return deployment
