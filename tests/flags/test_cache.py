"""The shared cache: warm reads run no query, commits invalidate everywhere, and failures degrade safely."""

import json
import os
import subprocess
import sys

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import override_settings

import flags
from flags import documents, services
from flags.store import get_store
from tests.conftest import ROOT, database_url_for
from tests.flags.conftest import state

# A Redis port nothing listens on: the cache is "down" for real, not mocked.
DEAD_REDIS = "redis://127.0.0.1:1/0"


def in_redis(key):
    """What the shared cache holds, read with a connection of its own (not this process's local copy)."""
    raw = redis.Redis.from_url(settings.REDIS_URL).get(key)
    return None if raw is None else json.loads(raw)


@pytest.mark.django_db
def test_document__warm_cache__zero_database_queries(seeded, client, django_assert_num_queries):
    client.get("/api/flags/production/")
    with django_assert_num_queries(0):
        response = client.get("/api/flags/production/")
    assert response.status_code == 200 and response.json()["flags"]["checkoutEnabled"] is True


@pytest.mark.django_db
def test_detail_and_ofrep__warm_cache__zero_database_queries(seeded, client, make_token, django_assert_num_queries):
    raw = make_token(environments=["production"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    client.get("/api/flags/production/reviews/")
    client.post("/ofrep/v1/evaluate/flags", data="{}", content_type="application/json", **headers)
    with django_assert_num_queries(0):
        assert client.get("/api/flags/production/reviews/").status_code == 200
        response = client.post("/ofrep/v1/evaluate/flags", data="{}", content_type="application/json", **headers)
        assert response.status_code == 200


@pytest.mark.django_db
def test_unknown_environment__negative_cache__one_query_set_then_none(seeded, client, django_assert_num_queries):
    assert client.get("/api/flags/qa/").status_code == 404
    assert in_redis(documents.document_key("qa")) == documents.MISSING
    with django_assert_num_queries(0):
        assert client.get("/api/flags/qa/").status_code == 404


@pytest.mark.django_db
def test_change__on_commit__cached_document_rewritten(seeded, carol, django_capture_on_commit_callbacks):
    assert flags.is_enabled("reviews", environment="staging") is False
    with django_capture_on_commit_callbacks(execute=True):
        services.set_state(state_id=state("reviews", "staging").pk, enabled=True, actor=carol, reason="UAT")
    assert in_redis(documents.document_key("staging"))["flags"]["reviews"] is True
    assert flags.is_enabled("reviews", environment="staging") is True


@pytest.mark.django_db
def test_change__rolled_back__cache_untouched(seeded, carol):
    flags.is_enabled("reviews", environment="staging")
    # The `db` fixture never commits: no on_commit, so the cache must still hold the old document.
    services.set_state(state_id=state("reviews", "staging").pk, enabled=True, actor=carol, reason="UAT")
    assert in_redis(documents.document_key("staging"))["flags"]["reviews"] is False


@pytest.mark.django_db
def test_is_enabled__unknown_flag_or_environment__false(seeded):
    assert flags.is_enabled("noSuchFlag", environment="production") is False
    assert flags.is_enabled("checkoutEnabled", environment="qa") is False
    assert flags.is_enabled("checkoutEnabled", environment="production") is True


@pytest.mark.django_db
def test_cache_down__api_answers_from_the_database(seeded, client):
    with override_settings(REDIS_URL=DEAD_REDIS):
        response = client.get("/api/flags/production/")
        assert flags.is_enabled("checkoutEnabled", environment="production") is True
    assert response.status_code == 200 and len(response.json()["flags"]) == 19


@pytest.mark.django_db(transaction=True)
def test_cache_and_database_down__503_json_never_a_partial_document(seeded_tx, client):
    saved = dict(connection.settings_dict)
    try:
        with override_settings(REDIS_URL=DEAD_REDIS):
            connection.close()
            connection.settings_dict["PORT"] = 1  # nothing listens: connecting fails for real
            response = client.get("/api/flags/production/")
            facade = flags.is_enabled("checkoutEnabled", environment="production")
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    assert response.status_code == 503 and "unavailable" in response.json()["error"]
    assert "flags" not in response.json()
    assert facade is False


READER = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amarise_ops.settings")
django.setup()
import flags
for line in sys.stdin:
    print(flags.is_enabled(line.strip(), environment="staging"), flush=True)
"""


@pytest.mark.django_db(transaction=True)
def test_change__second_process__sees_it_at_once(seeded_tx, carol):
    env = {**os.environ, "DATABASE_URL": database_url_for(connection.settings_dict)}
    reader = subprocess.Popen([sys.executable, "-c", READER], cwd=ROOT, env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    try:

        def ask():
            reader.stdin.write("reviews\n")
            reader.stdin.flush()
            return reader.stdout.readline().strip()

        assert ask() == "False"
        cached = in_redis(documents.document_key("staging"))
        assert cached["flags"]["reviews"] is False  # the other process filled the shared cache
        services.set_state(state_id=state("reviews", "staging").pk, enabled=True, actor=carol, reason="UAT")
        assert ask() == "True"
    finally:
        reader.stdin.close()
        reader.wait(timeout=10)


def test_document_key__carries_a_schema_version():
    assert documents.document_key("production") == f"ops:flags:{documents.SCHEMA}:doc:production"
    assert json.dumps(documents.SCHEMA)


@pytest.mark.django_db
def test_local_copy__another_client_writes_redis__next_read_sees_it(seeded):
    assert flags.is_enabled("reviews", environment="staging") is False  # now held in this process's copy
    document = in_redis(documents.document_key("staging"))
    document["flags"]["reviews"] = True
    redis.Redis.from_url(settings.REDIS_URL).set(documents.document_key("staging"), json.dumps(document), ex=60)
    assert flags.is_enabled("reviews", environment="staging") is True


@pytest.mark.django_db
def test_local_copy__tracking_connection_killed__still_correct_from_redis(seeded):
    assert flags.is_enabled("reviews", environment="staging") is False
    admin = redis.Redis.from_url(settings.REDIS_URL)
    # Only this process's own tracking connection: the Redis server is shared with other test runs.
    assert admin.client_kill_filter(_id=get_store().listener_id) == 1
    document = in_redis(documents.document_key("staging"))
    document["flags"]["reviews"] = True
    admin.set(documents.document_key("staging"), json.dumps(document), ex=60)
    assert flags.is_enabled("reviews", environment="staging") is True


@pytest.mark.django_db
def test_many_cells_changed_in_one_transaction__one_rebuild_per_environment(
    seeded, carol, monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import transaction

    rebuilt = []
    monkeypatch.setattr(documents, "refresh", rebuilt.append)
    # Given one transaction that sets several staging cells and one dev cell, as an import or a seed does
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for key, enabled in (("reviews", True), ("wishlist", True), ("reviews", False)):
            services.set_state(state_id=state(key, "staging").pk, enabled=enabled, actor=carol, reason="bulk")
        services.set_state(state_id=state("reviews", "dev").pk, enabled=False, actor=carol, reason="bulk")
    # Then each environment's document is rebuilt once, after all of them
    assert sorted(rebuilt) == ["dev", "staging"]
