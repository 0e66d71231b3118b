"""The runtime API: the document, one flag, token-guarded writes, and OFREP's published shapes."""

import json

import pytest
from django.test import override_settings

from core.models import ApiToken
from flags.models import ChangeRequest, FlagState
from tests.flags.conftest import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(seeded_module, db):
    # Seeded once for this module (no transactional tests here); each test rolls back to that state.
    return seeded_module


def auth(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_document__production__environment_flags_version_etag_and_max_age(seeded, client):
    response = client.get("/api/flags/production/")
    assert response.status_code == 200
    body = response.json()
    assert body["environment"] == "production" and len(body["flags"]) == 19
    assert body["flags"]["checkoutEnabled"] is True and body["flags"]["reviews"] is False
    assert response["ETag"] == f'"production-{body["version"]}"'
    assert response["Cache-Control"] == "max-age=300"


def test_document__if_none_match_current_etag__304(seeded, client):
    etag = client.get("/api/flags/staging/")["ETag"]
    response = client.get("/api/flags/staging/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304 and response.content == b""
    assert response["ETag"] == etag


def test_document__after_a_change__version_and_etag_change(seeded, client, carol, django_capture_on_commit_callbacks):
    from flags import services

    first = client.get("/api/flags/staging/")
    with django_capture_on_commit_callbacks(execute=True):
        services.set_state(state_id=state("reviews", "staging").pk, enabled=True, actor=carol, reason="UAT")
    second = client.get("/api/flags/staging/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200 and second.json()["flags"]["reviews"] is True
    assert second.json()["version"] != first.json()["version"]


def test_document__unknown_environment__404_json(seeded, client):
    response = client.get("/api/flags/qa/")
    assert response.status_code == 404 and "qa" in response.json()["error"]


def test_detail__known_flag__its_value(seeded, client):
    body = client.get("/api/flags/dev/darkMode/").json()
    assert (body["environment"], body["key"], body["enabled"]) == ("dev", "darkMode", True)


@pytest.mark.parametrize(("url", "word"), [("/api/flags/dev/nope/", "nope"), ("/api/flags/qa/darkMode/", "qa")])
def test_detail__unknown_flag_or_environment__404_json(seeded, client, url, word):
    response = client.get(url)
    assert response.status_code == 404 and word in response.json()["error"]


def patch(client, url, body, **headers):
    return client.patch(url, data=json.dumps(body), content_type="application/json", **headers)


def test_patch__no_token__401_and_nothing_changes(seeded, client):
    response = patch(client, "/api/flags/staging/reviews/", {"enabled": True})
    assert response.status_code == 401
    assert state("reviews", "staging").enabled is False


def test_patch__token_for_another_environment__403(seeded, client, make_token, carol):
    raw = make_token(environments=["dev"], scopes=["flags:write"], owner=carol)
    response = patch(client, "/api/flags/staging/reviews/", {"enabled": True}, **auth(raw))
    assert response.status_code == 403 and "staging" in response.json()["error"]
    assert state("reviews", "staging").enabled is False


def test_patch__read_only_token__403(seeded, client, make_token):
    raw = make_token(environments=["staging"])
    assert patch(client, "/api/flags/staging/reviews/", {"enabled": True}, **auth(raw)).status_code == 403


def test_patch__revoked_token__401(seeded, client, make_token, carol):
    raw = make_token(environments=["staging"], scopes=["flags:write"], owner=carol)
    ApiToken.objects.update(revoked_at="2026-01-01T00:00Z")
    assert patch(client, "/api/flags/staging/reviews/", {"enabled": True}, **auth(raw)).status_code == 401


@pytest.mark.parametrize("body", [{"enabled": "yes"}, {}, ["enabled"], {"enabled": True, "reason": 5}])
def test_patch__bad_body__400_and_nothing_changes(seeded, client, make_token, carol, body):
    raw = make_token(environments=["staging"], scopes=["flags:write"], owner=carol)
    assert patch(client, "/api/flags/staging/reviews/", body, **auth(raw)).status_code == 400
    assert state("reviews", "staging").enabled is False


def test_patch__scoped_write_token__applies_and_audits_as_its_user(seeded, client, make_token, carol):
    raw = make_token(environments=["staging"], scopes=["flags:write"], owner=carol)
    response = patch(client, "/api/flags/staging/reviews/", {"enabled": True, "reason": "UAT"}, **auth(raw))
    assert response.status_code == 200 and response.json()["enabled"] is True
    record = FlagState.history.filter(id=state("reviews", "staging").pk).latest("history_id")
    assert (record.history_user, record.history_change_reason) == (carol, "UAT")


def test_patch__production__202_change_request_not_applied(seeded, client, make_token, alice):
    raw = make_token(environments=["production"], scopes=["flags:write"], owner=alice)
    response = patch(client, "/api/flags/production/reviews/", {"enabled": True, "reason": "launch"}, **auth(raw))
    assert response.status_code == 202
    assert response.json()["change_request"]["status"] == "pending"
    assert ChangeRequest.objects.get().requested_by == alice
    assert state("reviews", "production").enabled is False


def test_patch__production_as_user_without_permission__403(seeded, client, make_token, carol):
    raw = make_token(environments=["production"], scopes=["flags:write"], owner=carol)
    response = patch(client, "/api/flags/production/reviews/", {"enabled": True}, **auth(raw))
    assert response.status_code == 403 and not ChangeRequest.objects.exists()


# --- OFREP: shapes from the OpenFeature Remote Evaluation Protocol's openapi.yaml -----------------------------


def ofrep(client, url, body=None, **headers):
    return client.post(url, data=json.dumps(body if body is not None else {"context": {}}),
                       content_type="application/json", **headers)  # fmt: skip


def test_ofrep_single__token_scoped_to_production__evaluation_success_shape(seeded, client, make_token):
    raw = make_token(environments=["production"])
    response = ofrep(client, "/ofrep/v1/evaluate/flags/checkoutEnabled", {"context": {"targetingKey": "u1"}},
                     **auth(raw))  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert {"key", "value", "reason", "variant", "metadata"} <= set(body)
    assert (body["key"], body["value"], body["reason"], body["variant"]) == ("checkoutEnabled", True, "STATIC", "on")
    assert body["metadata"]["environment"] == "production"
    assert all(isinstance(v, bool | str | int | float) for v in body["metadata"].values())


def test_ofrep_single__environment_comes_from_the_token(seeded, client, make_token):
    raw = make_token(environments=["dev"])
    body = ofrep(client, "/ofrep/v1/evaluate/flags/reviews", **auth(raw)).json()
    assert body["value"] is True and body["metadata"]["environment"] == "dev"


def test_ofrep_single__unknown_flag__404_flag_not_found(seeded, client, make_token):
    raw = make_token(environments=["production"])
    response = ofrep(client, "/ofrep/v1/evaluate/flags/nope", **auth(raw))
    assert response.status_code == 404
    assert response.json()["key"] == "nope" and response.json()["errorCode"] == "FLAG_NOT_FOUND"
    assert response.json()["errorDetails"]


def test_ofrep_single__context_not_an_object__400_invalid_context(seeded, client, make_token):
    raw = make_token(environments=["production"])
    response = ofrep(client, "/ofrep/v1/evaluate/flags/reviews", {"context": "x"}, **auth(raw))
    assert response.status_code == 400 and response.json()["errorCode"] == "INVALID_CONTEXT"


def test_ofrep_single__body_not_json__400_parse_error(seeded, client, make_token):
    raw = make_token(environments=["production"])
    response = client.post("/ofrep/v1/evaluate/flags/reviews", data="{", content_type="application/json", **auth(raw))
    assert response.status_code == 400 and response.json()["errorCode"] == "PARSE_ERROR"


def test_ofrep__no_token__401(seeded, client):
    assert ofrep(client, "/ofrep/v1/evaluate/flags/reviews").status_code == 401
    assert ofrep(client, "/ofrep/v1/evaluate/flags").status_code == 401


def test_ofrep__token_for_several_environments__context_environment_picks_within_scope(seeded, client, make_token):
    raw = make_token(environments=["dev", "staging"])
    assert ofrep(client, "/ofrep/v1/evaluate/flags/reviews", **auth(raw)).json()["errorCode"] == "INVALID_CONTEXT"
    staging = ofrep(client, "/ofrep/v1/evaluate/flags/reviews", {"context": {"environment": "staging"}}, **auth(raw))
    assert staging.json()["value"] is False
    outside = ofrep(client, "/ofrep/v1/evaluate/flags/reviews", {"context": {"environment": "production"}},
                    **auth(raw))  # fmt: skip
    assert outside.status_code == 403


def test_ofrep_bulk__flags_array_with_etag_then_304(seeded, client, make_token):
    raw = make_token(environments=["staging"])
    response = ofrep(client, "/ofrep/v1/evaluate/flags", **auth(raw))
    assert response.status_code == 200 and response["ETag"]
    flags = response.json()["flags"]
    assert len(flags) == 19
    assert all({"key", "value", "reason", "variant", "metadata"} <= set(f) for f in flags)
    assert {f["key"]: f["value"] for f in flags}["guestCheckout"] is True
    again = ofrep(client, "/ofrep/v1/evaluate/flags", HTTP_IF_NONE_MATCH=response["ETag"], **auth(raw))
    assert again.status_code == 304


@override_settings(OPS_FLAGS_CACHE_TTL=60)
def test_document__cache_ttl_setting__sent_as_max_age(seeded, client):
    assert client.get("/api/flags/dev/")["Cache-Control"] == "max-age=60"


def test_ofrep__token_revoked_in_the_admin__refused_on_the_next_request(
    seeded, client, admin_client, make_token, django_capture_on_commit_callbacks
):
    raw = make_token(environments=["production"])
    assert ofrep(client, "/ofrep/v1/evaluate/flags/reviews", **auth(raw)).status_code == 200  # now cached
    token = ApiToken.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/core/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert ApiToken.objects.get().revoked_at is not None
    assert ofrep(client, "/ofrep/v1/evaluate/flags/reviews", **auth(raw)).status_code == 401
