"""FlagClient against a real running server: live, stale once the server stops, false when never reached."""

import logging
import os
import socket
import subprocess
import sys
import threading

import pytest
import requests
from django.db import connection

from flags import services
from flags.client import ERROR, LIVE, STALE, FlagClient
from tests.conftest import ROOT, database_url_for, wait_until
from tests.flags.conftest import state

pytestmark = pytest.mark.django_db(transaction=True)


class Server:
    """gunicorn serving the console on the test database, in its own process, so stopping it is real."""

    def __init__(self, port):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DATABASE_URL": database_url_for(connection.settings_dict)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "amarise_ops.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self._answers, timeout=30, what="gunicorn to answer")

    def _answers(self):
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {self.process.returncode}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code in (200, 503)
        except requests.RequestException:
            return False

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def server(seeded_tx):
    server = Server(free_port())
    yield server
    server.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_client__live_server__reads_the_environment(server):
    client = FlagClient(server.url, "staging", ttl=300)
    assert client.is_enabled("guestCheckout") is True
    assert client.is_enabled("reviews") is False
    assert client.is_enabled("noSuchFlag") is False
    assert client.reason == LIVE and len(client.all()) == 19


def test_client__within_ttl__answers_from_memory_then_refreshes_after_it(server, carol):
    client = FlagClient(server.url, "staging", ttl=0.3)
    assert client.is_enabled("reviews") is False
    services.set_state(state_id=state("reviews", "staging").pk, enabled=True, actor=carol, reason="UAT")
    assert client.is_enabled("reviews") is False  # still within the TTL
    wait_until(lambda: client.is_enabled("reviews"), timeout=5, what="the client to refresh after its TTL")
    assert client.reason == LIVE


def test_client__server_stopped__keeps_serving_the_last_document_as_stale(server, caplog):
    client = FlagClient(server.url, "staging", ttl=0.2, timeout=0.5, retry_after=0.05)
    assert client.is_enabled("guestCheckout") is True
    server.stop()
    with caplog.at_level(logging.WARNING, logger="amarise_ops.flags.client"):
        wait_until(lambda: client.evaluate("guestCheckout") == (True, STALE), timeout=5, what="a STALE answer")
        for _ in range(50):
            assert client.is_enabled("guestCheckout") is True
    failures = [r for r in caplog.records if "refresh" in r.getMessage()]
    assert 1 <= len(failures) <= 2  # once per refresh period (0.2 s), not once per call (50+)
    assert client.all()["guestCheckout"] is True


def test_client__nothing_ever_fetched__false_with_reason_error(caplog):
    client = FlagClient(f"http://127.0.0.1:{free_port()}", "production", ttl=300, timeout=0.5)
    with caplog.at_level(logging.WARNING, logger="amarise_ops.flags.client"):
        for _ in range(20):
            assert client.is_enabled("checkoutEnabled") is False
    assert client.evaluate("checkoutEnabled") == (False, ERROR)
    assert client.all() == {}
    assert len([r for r in caplog.records if "refresh" in r.getMessage()]) == 1


def test_client__unknown_environment__false_with_reason_error(server):
    client = FlagClient(server.url, "qa")
    assert client.is_enabled("checkoutEnabled") is False and client.reason == ERROR


def test_client__unchanged_document__revalidates_with_304(server):
    client = FlagClient(server.url, "dev", ttl=0)
    assert client.is_enabled("darkMode") is True
    etag = client._etag
    assert client.is_enabled("darkMode") is True and client._etag == etag and client.reason == LIVE


def test_client__concurrent_callers__never_raise(server):
    client = FlagClient(server.url, "dev", ttl=0.01)
    errors = []

    def hammer():
        try:
            for _ in range(200):
                client.is_enabled("darkMode")
        except Exception as exc:  # the point of the test: this must stay empty
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_client__console_environment_argument__reads_through_the_server_cache(server):
    client = FlagClient(server.url, "dev")
    assert client.is_enabled("guestCheckout", environment="production") is False
    assert client.is_enabled("guestCheckout", environment="staging") is True
