"""Dead or hung dependencies: a Redis that accepts connections and never answers ties up nothing for long."""

import socket
import threading
import time

import pytest
from django.test import override_settings

import flags
from flags import documents, services
from tests.flags.conftest import clear_flag_cache, seed_flags, state
from tests.hardening.conftest import make_api_token

# A Redis port nothing listens on: connecting is refused at once.
REFUSED_REDIS = "redis://127.0.0.1:1/0"


class HungServer:
    """Accepts every connection and never answers a byte: the Redis that hung."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.held = []
        self.url = f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)  # kept open, never read nor written

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture(scope="module")
def hung():
    server = HungServer()
    yield server
    server.close()


def within(seconds, call):
    """call()'s result, failing if it has not returned within `seconds` (a liveness bound, not a benchmark)."""
    from django.db import connections

    box = {}
    shared = connections["default"]  # this test's connection, so the thread sees its uncommitted rows

    def run():
        connections["default"] = shared
        box["value"] = call()

    shared.inc_thread_sharing()
    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(seconds)
    if not thread.is_alive():
        shared.dec_thread_sharing()
    assert not thread.is_alive(), f"no answer within {seconds}s"
    assert "value" in box, "the call raised"
    return box["value"], time.monotonic() - started


def hung_caches(url):
    from amarise_ops.config import redis_client_options

    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                        "OPTIONS": redis_client_options(0.5)}}  # fmt: skip


@pytest.mark.django_db
def test_healthz__redis_and_broker_hung__503_within_2s_naming_them(client, hung):
    # Given a cache and a broker that accept connections and never answer
    with override_settings(CACHES=hung_caches(hung.url), CELERY_BROKER_URL=hung.url):
        # When the load balancer probes
        response, _ = within(2.0, lambda: client.get("/healthz"))
    # Then it hears 503 in time, naming what failed, and the database as fine
    checks = response.json()["checks"]
    assert response.status_code == 503
    assert checks["cache"]["ok"] is False and checks["cache"]["error"]
    assert checks["broker"]["ok"] is False
    assert checks["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz__database_hung__503_within_2s_naming_it(client, hung):
    from django.db import connections

    # Given a database server that accepts connections and never answers (new connections go there)
    database = connections.settings["default"]
    saved = {key: database[key] for key in ("HOST", "PORT")}
    database.update(HOST="127.0.0.1", PORT=hung.url.rsplit(":", 1)[1].split("/")[0])
    try:
        # When the load balancer probes
        response, _ = within(2.0, lambda: client.get("/healthz"))
    finally:
        database.update(saved)
    # Then it hears 503 in time, naming the database
    checks = response.json()["checks"]
    assert response.status_code == 503
    assert checks["database"]["ok"] is False and "no answer" in checks["database"]["error"]


@pytest.mark.django_db
def test_flags_api__redis_hung__answers_from_the_database_within_1s(client, hung, make_user):
    # Given the flags, a storefront token, and a Redis that hangs in place of the real one
    seed_flags()
    token = make_api_token(user=make_user("storefront", superuser=True), environments=["production"])
    with override_settings(REDIS_URL=hung.url, CACHES=hung_caches(hung.url)):
        # When the storefront reads the production document, one flag, and evaluates through OFREP
        first, _ = within(1.0, lambda: client.get("/api/flags/production/"))
        again, _ = within(1.0, lambda: client.get("/api/flags/production/reviews/"))
        ofrep, _ = within(1.0, lambda: client.post("/ofrep/v1/evaluate/flags", b"{}", content_type="application/json",
                                                   HTTP_AUTHORIZATION=f"Bearer {token}"))  # fmt: skip
    # Then each comes from the database, in time
    assert first.status_code == 200 and first.json()["flags"]["checkoutEnabled"] is True
    assert again.status_code == 200 and again.json()["key"] == "reviews"
    assert ofrep.status_code == 200 and len(ofrep.json()["flags"]) == len(first.json()["flags"])


@pytest.mark.django_db
def test_flag_changed_during_outage__new_value_on_first_read_after_redis_returns(make_user):
    # Given the staging document cached in the real Redis, reviews off
    clear_flag_cache()
    seed_flags()
    carol = make_user("carol", "flags.change_flagstate", "flags.view_flag")
    assert flags.is_enabled("reviews", environment="staging") is False
    # When Redis is unreachable while reviews is turned on (the write-through cannot reach it)
    with override_settings(REDIS_URL=REFUSED_REDIS):
        services.set_state(state_id=state("reviews", "staging").pk, enabled=True, actor=carol, reason="UAT")
        documents.refresh("staging")  # what on_commit runs
    assert documents.get_store().get(documents.document_key("staging"))["flags"]["reviews"] is False  # stale
    # Then the first read after Redis returns serves the new value, and Redis holds it
    try:
        assert flags.is_enabled("reviews", environment="staging") is True
        assert documents.get_store().get(documents.document_key("staging"))["flags"]["reviews"] is True
    finally:
        clear_flag_cache()


@pytest.mark.django_db
def test_flag_changed_during_outage__writer_rewrites_it_on_its_next_read_of_any_environment(make_user):
    # Given the staging document cached in the real Redis, reviews off, and checked by this process
    clear_flag_cache()
    seed_flags()
    carol = make_user("carol", "flags.change_flagstate", "flags.view_flag")
    assert flags.is_enabled("reviews", environment="staging") is False
    key = documents.document_key("staging")
    # When reviews is turned on while Redis is unreachable for this (writing) process
    with override_settings(REDIS_URL=REFUSED_REDIS):
        services.set_state(state_id=state("reviews", "staging").pk, enabled=True, actor=carol, reason="UAT")
        documents.refresh("staging")  # what on_commit runs
    documents._verified[key] = documents.outages()  # as if this process had nothing left to check
    # Then its next read of another environment rewrites staging's document in Redis
    try:
        flags.is_enabled("reviews", environment="production")
        assert documents.get_store().get(key)["flags"]["reviews"] is True
    finally:
        clear_flag_cache()
