import pytest

from deployments.choices import Color, SlotRole, TriggerKind
from deployments.models import DeploymentPolicy, Release, Slot
from environments.models import Environment
from tests.deployments.standins import DEPLOY_COMMAND, HAProxy, Prometheus, Shoppers, SlotServer


@pytest.fixture
def slots():
    blue, green = SlotServer("blue"), SlotServer("green")
    yield blue, green
    blue.close()
    green.close()


@pytest.fixture
def haproxy(tmp_path, slots):
    proxy = HAProxy(tmp_path, *slots)
    yield proxy
    proxy.stop()


@pytest.fixture
def prometheus(tmp_path, slots):
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    server = Prometheus(workdir, *slots)
    yield server
    server.stop()


@pytest.fixture
def shoppers(haproxy):
    traffic = Shoppers(haproxy.url)
    yield traffic
    traffic.stop()


def configure_staging(haproxy, slots, **overrides):
    """Staging wired to the real HAProxy and stand-in slots, with windows in seconds instead of minutes."""
    blue, green = slots
    staging = Environment.objects.get(key="staging")
    policy = staging.deployment_policy
    values = {
        "balancer_socket": haproxy.socket,
        "balancer_backend": "storefront",
        "deploy_command": DEPLOY_COMMAND,
        "deploy_timeout_seconds": 30,
        "health_path": "/healthz",
        "health_interval_seconds": 0.2,
        "health_passes_required": 2,
        "sample_interval_seconds": 0.4,
        "min_requests": 20,
        "stale_after_seconds": 3,
        "bake_minutes": 0,  # no watch after 100% unless a test asks for one (test_switch_back.py)
    } | overrides
    DeploymentPolicy.objects.filter(pk=policy.pk).update(**values)
    policy.traffic_steps.update(hold_seconds=2.0)
    policy.triggers.filter(kind=TriggerKind.ERROR_RATE).update(window_seconds=2.0)
    # Slow responses mean few of them: the p95 window must hold enough requests for a verdict.
    policy.triggers.filter(kind=TriggerKind.P95_LATENCY).update(window_seconds=10.0)
    # The stand-in counts "/" as shopper traffic (and fails some of it for a bad release): smoke-test "/smoke".
    policy.smoke_checks.all().delete()
    policy.smoke_checks.create(path="/smoke", expected_status=200, body_contains="AMARISÉ")
    v1 = Release.objects.create(version="v1", ref="release/1.0", ref_kind="branch")
    Slot.objects.create(
        environment=staging, color=Color.BLUE, address=blue.address, server_name="blue", release=v1, role=SlotRole.LIVE
    )
    Slot.objects.create(environment=staging, color=Color.GREEN, address=green.address, server_name="green")
    return Environment.objects.get(pk=staging.pk)


@pytest.fixture
def staging(seeded_tx, haproxy, slots):
    return configure_staging(haproxy, slots)


@pytest.fixture
def production(seeded):
    """Production with blue live on v1.9 and green idle; addresses nobody answers on (no engine here).

    Four-eyes off, as for a team of one: these tests are about what follows a start; test_four_eyes.py has it on.
    """
    return production_slots()


@pytest.fixture
def production_once(seeded_module, db):
    """`production`, on the module's seeding."""
    return production_slots()


def production_slots():
    env = Environment.objects.get(key="production")
    DeploymentPolicy.objects.filter(environment=env).update(four_eyes=False)
    v1 = Release.objects.create(version="v1.9", ref="v1.9", ref_kind="tag")
    Slot.objects.create(
        environment=env, color="blue", address="127.0.0.1:9001", server_name="blue", release=v1, role="live"
    )
    Slot.objects.create(environment=env, color="green", address="127.0.0.1:9002", server_name="green")
    return env
