"""apply_topology / export_topology: the topology as versioned YAML, applied all or nothing."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from deployments import topology
from deployments.models import DeploymentPolicy, Slot

pytestmark = pytest.mark.django_db
EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "topology.example.yaml"


def _policy(key):
    return DeploymentPolicy.objects.get(environment__key=key)


def test_apply__example_file__policies_slots_and_live_slot(seeded, capsys):
    call_command("apply_topology", str(EXAMPLE))
    assert "Topology applied" in capsys.readouterr().out
    staging = _policy("staging")
    assert staging.balancer_socket == "/run/haproxy/staging.sock"
    assert [s.weight for s in staging.traffic_steps.all()] == [10, 50, 100]
    assert staging.smoke_checks.count() == 2
    assert dict(Slot.objects.filter(environment__key="staging").values_list("color", "role")) == {
        "blue": "live",
        "green": "idle",
    }
    p95 = _policy("production").triggers.get(kind="p95_latency")
    assert "{slot}" in p95.promql and p95.threshold == 3


def test_apply__twice__second_changes_nothing(seeded):
    text = EXAMPLE.read_text()
    assert topology.apply(text)
    assert topology.apply(text) == []


def test_export_then_apply__round_trip_changes_nothing(seeded):
    topology.apply(EXAMPLE.read_text())
    exported = topology.export()
    assert topology.apply(exported) == []
    assert "staging.sock" in exported


def test_apply__live_slot_only_set_the_first_time(seeded):
    topology.apply(EXAMPLE.read_text())
    Slot.objects.filter(environment__key="staging").update(role="standby")
    Slot.objects.filter(environment__key="staging", color="green").update(role="live")
    topology.apply(EXAMPLE.read_text())
    assert Slot.objects.get(environment__key="staging", color="green").role == "live"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("environments: [1, 2]", "top-level 'environments' mapping"),
        ("environments:\n  mars: {}", "Unknown environment 'mars'"),
        ("environments:\n  staging:\n    policy:\n      colour: blue", "unknown key(s) colour"),
        ("environments:\n  staging:\n    slots:\n      blue: {address: nowhere}", "Use host:port"),
        (
            "environments:\n  staging:\n    policy:\n      traffic_steps: [{weight: 10, hold_seconds: 1}]",
            "must end at 100",
        ),
        ("environments: {staging: [", "Not valid YAML"),
    ],
)
def test_apply__bad_file__clear_error_and_nothing_changed(seeded, text, message):
    before = topology.export()
    with pytest.raises(topology.TopologyError, match=message.replace("(", "\\(").replace(")", "\\)")):
        topology.apply(text)
    assert topology.export() == before


def test_apply__half_good_file__nothing_applied(seeded):
    text = "environments:\n  staging:\n    policy:\n      min_requests: 7\n  production:\n    policy:\n      colour: 1"
    with pytest.raises(topology.TopologyError):
        topology.apply(text)
    assert _policy("staging").min_requests == 100


def test_apply_command__bad_file__command_error_says_nothing_changed(seeded, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("environments:\n  mars: {}")
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("apply_topology", str(path))


def test_apply__slots_during_a_deployment__refused(seeded):
    from deployments import services
    from deployments.models import Release

    topology.apply(EXAMPLE.read_text())
    release = Release.objects.create(version="rc1", ref="release/2.0", ref_kind="branch")
    services.start_deployment(release=release, environment=_policy("staging").environment)
    moved = EXAMPLE.read_text().replace("10.0.2.11:8080", "10.0.2.99:8080")
    with pytest.raises(topology.TopologyError, match="a deployment is in flight"):
        topology.apply(moved)
    assert Slot.objects.get(environment__key="staging", color="green").address == "10.0.2.11:8080"
