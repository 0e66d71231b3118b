"""The CI API: register a release's migrations, report them tested locally, read the matrix."""

import json

import pytest
from django.contrib.auth.models import User

from migrations_log.models import Migration
from tests.migrations_log.helpers import BASE


@pytest.fixture
def ci(enabled_targets, client, make_user):
    client.force_login(make_user("ci-bot", "migrations_log.add_migration", "migrations_log.view_migration"))
    return client


def _post(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


def test_api__register_report_read__flow(ci):
    created = _post(ci, "/api/migrations/releases/", {"version": "2.0", "ref": "release/2.0", "ref_kind": "branch",
                                                       "files": BASE})  # fmt: skip
    assert created.status_code == 201, created.content
    assert created.json()["summary"].startswith("2.0: 2 new migration(s)")

    reported = _post(ci, "/api/migrations/releases/2.0/tested-locally/", {"identifiers": ["0001_add_gift_wrap"]})
    assert reported.json() == {"reported": 1}
    assert Migration.objects.get(identifier="0001_add_gift_wrap").tested_locally_at is not None
    assert Migration.objects.get(identifier="0002_create_wishlists").tested_locally_at is None

    document = ci.get("/api/migrations/releases/2.0/").json()
    first = document["migrations"][0]
    assert first["identifier"] == "0001_add_gift_wrap" and first["tested_locally"] is True
    assert first["environments"] == {"dev": None, "staging": None, "production": None}
    assert {f["rule"] for f in first["findings"]} >= {"require-lock-timeout"}
    assert document["promotion"]["dev"] == "ok"
    assert "Not reported tested locally by CI: 0002_create_wishlists" in document["promotion"]["staging"]


def test_api__refused_registration__409_with_the_rule_nothing_changed(ci):
    response = _post(ci, "/api/migrations/releases/", {"version": "2.0", "files": {"0001_x.sql": "ALTER TABLE;"}})
    assert response.status_code == 409 and "0001_x.sql: PostgreSQL cannot parse it" in response.json()["error"]
    assert not Migration.objects.exists()


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"version": "2.0", "files": {"0001_x.sql": 3}}'])
def test_api__malformed_body__400(ci, body):
    response = ci.post("/api/migrations/releases/", body, content_type="application/json")
    assert response.status_code == 400 and not Migration.objects.exists()


def test_api__anonymous__401_staff_without_permission__403(seeded, client, make_user):
    assert _post(client, "/api/migrations/releases/", {"version": "2.0", "files": BASE}).status_code == 401
    client.force_login(make_user("viewer"))
    assert _post(client, "/api/migrations/releases/", {"version": "2.0", "files": BASE}).status_code == 403
    assert not Migration.objects.exists()


def test_api__unknown_release__404(ci):
    assert ci.get("/api/migrations/releases/v9/").status_code == 404
    assert _post(ci, "/api/migrations/releases/v9/tested-locally/", {}).status_code == 404


def _token_headers(*, can_write):
    from tests.core.tokens import bearer, make_token, service_account

    bot = User.objects.filter(username="ci-token").first() or service_account(
        "ci-token", "migrations_log.add_migration", "migrations_log.view_migration"
    )
    scopes = ["migrations:write"] if can_write else ["flags:read"]
    return bearer(make_token(bot, environments=["local", "production"], scopes=scopes))


def test_api__with_an_api_token__registers_as_ci(enabled_targets, client):
    body = json.dumps({"version": "2.0", "ref": "release/2.0", "ref_kind": "branch", "files": BASE})
    response = client.post("/api/migrations/releases/", body, content_type="application/json",
                           **_token_headers(can_write=True))  # fmt: skip
    assert response.status_code == 201, response.content
    assert Migration.objects.filter(release__version="2.0").count() == 2


def test_api__read_only_or_unknown_token__refused_nothing_registered(enabled_targets, client):
    body = json.dumps({"version": "2.0", "ref": "release/2.0", "ref_kind": "branch", "files": BASE})
    read_only = client.post("/api/migrations/releases/", body, content_type="application/json",
                            **_token_headers(can_write=False))  # fmt: skip
    unknown = client.post("/api/migrations/releases/", body, content_type="application/json",
                          HTTP_AUTHORIZATION="Bearer ops_flags_nope_x")  # fmt: skip
    assert (read_only.status_code, unknown.status_code) == (403, 401)
    assert not Migration.objects.exists()
