"""The CI API: releases, deployments, state and checklist items, with environment-scoped tokens."""

import pytest
from django.contrib.auth import get_user_model

from deployments.models import Deployment, Release
from tests.core.tokens import bearer, make_token, service_account

pytestmark = pytest.mark.django_db


CI_PERMISSIONS = ["deployments.add_release", "deployments.operate_deployment", "deployments.deploy_production",
                  "deployments.check_checklist", "deployments.view_deployment"]  # fmt: skip


def _token(*environments, can_write=True):
    ci = get_user_model().objects.filter(username="ci").first() or service_account("ci", *CI_PERMISSIONS)
    scopes = ["releases:write", "deployments:write"] if can_write else ["flags:read"]
    return bearer(make_token(ci, environments=environments, scopes=scopes))


def _post(client, url, body, headers):
    return client.post(url, body, content_type="application/json", **headers)


def test_ci_flow__release_start_report_items_read_state(production, client):
    headers = _token("production")
    created = _post(
        client, "/api/deployments/releases/", {"version": "v2.0", "ref": "v2.0", "ref_kind": "tag"}, headers
    )
    assert created.status_code == 201 and Release.objects.get(version="v2.0").source == "ci"

    started = _post(client, "/api/deployments/", {"release": "v2.0", "environment": "production"}, headers)
    assert started.status_code == 201
    pk = started.json()["id"]
    assert started.json()["status"] == "awaiting_checklist"

    checked = _post(client, f"/api/deployments/{pk}/checklist/all_tests_passing/", {}, headers)
    assert checked.status_code == 200
    refused = _post(client, f"/api/deployments/{pk}/checklist/changelog_updated/", {}, headers)
    assert refused.status_code == 422 and "must be checked by a person" in refused.json()["error"]

    state = client.get(f"/api/deployments/{pk}/", **headers).json()
    items = {c["key"]: c for c in state["checklist"]}
    assert items["all_tests_passing"]["checked"] and items["all_tests_passing"]["source"] == "ci"
    assert not items["changelog_updated"]["checked"]
    assert state["traffic"] == {"blue": 100, "green": 0}
    names = [s["name"] for s in state["steps"]]
    assert names[0] == "deploy" and names[-3:] == ["traffic_10", "traffic_50", "traffic_100"]


def test_token_scoped_to_staging__cannot_touch_production(production, client):
    Release.objects.create(version="v2.0", ref="v2.0", ref_kind="tag")
    response = _post(client, "/api/deployments/", {"release": "v2.0", "environment": "production"}, _token("staging"))
    assert response.status_code == 403 and not Deployment.objects.exists()


def test_read_only_token__cannot_start(production, client):
    Release.objects.create(version="v2.0", ref="v2.0", ref_kind="tag")
    headers = _token("production", can_write=False)
    response = _post(client, "/api/deployments/", {"release": "v2.0", "environment": "production"}, headers)
    assert response.status_code == 403 and not Deployment.objects.exists()


def test_no_token__401(production, client):
    assert client.get("/api/deployments/1/").status_code in {401, 404}
    response = _post(client, "/api/deployments/releases/", {"version": "x", "ref": "x", "ref_kind": "tag"}, {})
    assert response.status_code == 401 and not Release.objects.filter(version="x").exists()


def test_refused_start__409_with_the_rule(production, client):
    headers = _token("production")
    Release.objects.create(version="rc", ref="release/2.0", ref_kind="branch")
    response = _post(client, "/api/deployments/", {"release": "rc", "environment": "production"}, headers)
    assert response.status_code == 409 and "deploys from tag v*" in response.json()["error"]


def test_bad_release_payload__400_nothing_created(production, client):
    headers = _token("production")
    response = _post(client, "/api/deployments/releases/", {"version": "v3", "ref_kind": "tag"}, headers)
    assert response.status_code == 400 and not Release.objects.filter(version="v3").exists()
    response = _post(client, "/api/deployments/releases/", {"version": "v3", "ref": "v3", "ref_kind": "sha"}, headers)
    assert response.status_code == 400 and not Release.objects.filter(version="v3").exists()
