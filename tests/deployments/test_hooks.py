"""POST /api/hooks/git/: signed GitHub push events create releases and auto-deploy dev."""

import hashlib
import hmac
import json

import pytest

from deployments.models import Deployment, Release

pytestmark = pytest.mark.django_db
SECRET = "hook-secret"


def _post(client, payload, *, secret=SECRET, event="push"):
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/api/hooks/git/",
        body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": event},
    )


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("OPS_GIT_WEBHOOK_SECRET", SECRET)


def test_push_to_main__release_and_dev_deployment(seeded, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(client, {"ref": "refs/heads/main", "after": "a1b2c3d4e5f6", "head_commit": {"message": "x"}})
    body = response.json()
    assert response.status_code == 201
    assert body["release"] == "main@a1b2c3d" and body["candidate_for"] == ["dev"]
    deployment = Deployment.objects.get(pk=body["deployments"][0])
    assert deployment.environment.key == "dev" and deployment.status == "deploying"
    assert len(callbacks) == 1


def test_push_to_release_branch__staging_candidate_without_deploying(seeded, client):
    body = _post(client, {"ref": "refs/heads/release/2.0", "after": "0123456789ab"}).json()
    assert body["candidate_for"] == ["staging"] and body["deployments"] == []
    assert Release.objects.get(version="release/2.0@0123456").ref_kind == "branch"


def test_tag__production_candidate(seeded, client):
    body = _post(client, {"ref": "refs/tags/v2.0", "after": "0123456789ab"}).json()
    assert body["candidate_for"] == ["production"] and not Deployment.objects.exists()


def test_same_push_twice__one_release_one_deployment(seeded, client):
    payload = {"ref": "refs/heads/main", "after": "a1b2c3d4e5f6"}
    _post(client, payload)
    second = _post(client, payload).json()
    assert Release.objects.count() == 1 and Deployment.objects.count() == 1
    assert second["deployments"] == []


def test_bad_signature__401_and_nothing_changes(seeded, client):
    response = _post(client, {"ref": "refs/heads/main", "after": "a1b2c3d4e5f6"}, secret="wrong")
    assert response.status_code == 401
    assert not Release.objects.exists() and not Deployment.objects.exists()


def test_no_secret_configured__401(seeded, client, monkeypatch):
    monkeypatch.delenv("OPS_GIT_WEBHOOK_SECRET")
    response = _post(client, {"ref": "refs/heads/main", "after": "a1"})
    assert response.status_code == 401 and "not configured" in response.json()["error"]


def test_not_a_push__malformed__422_and_nothing_changes(seeded, client):
    response = _post(client, {"zen": "hi"})
    assert response.status_code == 422 and not Release.objects.exists()
    assert _post(client, {"zen": "hi"}, event="ping").json() == {"pong": True}
