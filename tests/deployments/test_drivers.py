"""Drivers against the real things: HAProxy's runtime API and a deploy command."""

import sys

import pytest

from deployments.drivers.executors import CommandExecutor
from deployments.drivers.haproxy import HAProxyBalancer
from deployments.exceptions import DriverError
from deployments.models import Release, Slot


def test_haproxy__set_weight_and_state__seen_in_show_stat(haproxy):
    balancer = HAProxyBalancer(haproxy.socket, "storefront")
    balancer.set_weight("green", 30)
    balancer.set_state("blue", "drain")
    stats = balancer.stats()
    assert stats["green"].weight == 30
    assert stats["blue"].status == "DRAIN"


def test_haproxy__unknown_server__permanent_error(haproxy):
    with pytest.raises(DriverError) as excinfo:
        HAProxyBalancer(haproxy.socket, "storefront").set_weight("purple", 10)
    assert excinfo.value.permanent


def test_haproxy__socket_missing__clear_error(tmp_path):
    with pytest.raises(DriverError, match="HAProxy runtime API at"):
        HAProxyBalancer(str(tmp_path / "nope.sock"), "storefront").stats()


def test_haproxy__over_tcp__weights_and_counters(haproxy, shoppers):
    from tests.conftest import wait_until

    balancer = HAProxyBalancer(f"tcp:127.0.0.1:{haproxy.admin_port}", "storefront")
    wait_until(lambda: balancer.stats()["blue"].req_tot > 20, what="requests counted over the TCP socket")
    balancer.set_weight("green", 5)
    assert HAProxyBalancer(f"unix:{haproxy.socket}", "storefront").stats()["green"].weight == 5


def test_webhook_executor__http_status_decides(upstream):
    from deployments.drivers.executors import WebhookExecutor

    release = Release(version="v2", ref="v2", ref_kind="tag")
    upstream.status = 202
    assert WebhookExecutor(f"{upstream.url}/deploy", timeout=5).run(slot=_slot(), release=release).ok
    upstream.status = 500
    result = WebhookExecutor(f"{upstream.url}/deploy", timeout=5).run(slot=_slot(), release=release)
    assert not result.ok and "HTTP 500" in result.output


def _slot():
    return Slot(color="green", address="127.0.0.1:1", server_name="green")


def test_command__exit_status_decides_and_output_is_captured(tmp_path):
    release = Release(version="v2", ref="v2", ref_kind="tag")
    ok = CommandExecutor(f"{sys.executable} -c \"print('deployed {{version}} to {{slot}}')\"", timeout=10)
    result = ok.run(slot=_slot(), release=release)
    assert result.ok and "deployed v2 to green" in result.output
    bad = CommandExecutor(f'{sys.executable} -c "import sys; sys.exit(3)"', timeout=10)
    result = bad.run(slot=_slot(), release=release)
    assert not result.ok and "exit status 3" in result.output


def test_command__timeout__fails_with_reason():
    child = f'{sys.executable} -c "import time; time.sleep(5)"'  # sleep-ok: the child must outlive the timeout
    slow = CommandExecutor(child, timeout=0.3)
    result = slow.run(slot=_slot(), release=Release(version="v2", ref="v2", ref_kind="tag"))
    assert not result.ok and "Timed out after 0.3s" in result.output


def test_command__unknown_placeholder__fails_clearly():
    result = CommandExecutor("./deploy.sh {colour}", timeout=5).run(slot=_slot(), release=Release(version="v"))
    assert not result.ok and "Bad deploy command template" in result.output
