"""The git hook keeps each push's commits on its release: where DORA's lead time for changes starts."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from deployments.commits import record_push_commits
from deployments.models import Release, ReleaseCommit

pytestmark = pytest.mark.django_db
SECRET = "hook-secret"


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("OPS_GIT_WEBHOOK_SECRET", SECRET)


def _post(client, payload):
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return client.post("/api/hooks/git/", body, content_type="application/json",
                       headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": "push"})  # fmt: skip


PUSH = {
    "ref": "refs/heads/release/3.0",
    "after": "cccccccccccc",
    "commits": [
        {
            "id": "aaaaaaaaaaaa",
            "timestamp": "2026-11-20T10:00:00+01:00",
            "message": "Cart\n\nbody",
            "author": {"name": "Ana"},
        },  # fmt: skip
        {"id": "bbbbbbbbbbbb", "timestamp": "2026-11-20T12:30:00Z", "message": "Checkout"},
        {"id": "not-a-sha", "timestamp": "2026-11-20T12:30:00Z"},
        {"id": "dddddddddddd", "timestamp": "yesterday"},
    ],
    "head_commit": {"id": "bbbbbbbbbbbb", "timestamp": "2026-11-20T12:30:00Z", "message": "Checkout"},
}


def test_push__stores_each_commit_timestamp_on_the_release(seeded, client):
    assert _post(client, PUSH).status_code == 201
    commits = list(ReleaseCommit.objects.filter(release__version="release/3.0@ccccccc").order_by("committed_at"))
    assert [(c.sha, c.committed_at) for c in commits] == [
        ("aaaaaaaaaaaa", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
        ("bbbbbbbbbbbb", datetime(2026, 11, 20, 12, 30, tzinfo=UTC)),
    ]  # the bad sha and the unreadable timestamp are skipped
    assert commits[0].author == "Ana" and commits[0].message == "Cart"


def test_same_push_twice__commits_stored_once(seeded, client):
    _post(client, PUSH)
    _post(client, PUSH)
    assert ReleaseCommit.objects.count() == 2


def test_tag_push__its_head_commit(seeded, client):
    tag = {"ref": "refs/tags/v3.0", "after": "eeeeeeeeeeee", "commits": [],
           "head_commit": {"id": "eeeeeeeeeeee", "timestamp": "2026-11-21T08:00:00Z", "message": "v3.0"}}  # fmt: skip
    _post(client, tag)
    commit = ReleaseCommit.objects.get(release__version="v3.0")
    assert commit.sha == "eeeeeeeeeeee" and commit.committed_at == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_event_without_commits__nothing_stored(db):
    release = Release.objects.create(version="v0", ref="v0", ref_kind="tag")
    assert record_push_commits(release=release, event={"commits": [None, 3], "head_commit": None}) == 0
    assert record_push_commits(release=release, event={"commits": {"id": "abc"}, "head_commit": "x"}) == 0
    assert not ReleaseCommit.objects.exists()
