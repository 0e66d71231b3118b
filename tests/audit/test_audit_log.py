"""The audit log: one row per write, with who, how and what changed, in the transaction of the change."""

import csv
import io

import pytest
from django.core.management import call_command
from django.db import transaction

from audit.models import AuditEntry
from core.caller import Caller, acting, current
from flags import services
from flags.models import ChangeRequest, Flag
from tests.flags.conftest import FLAG_EDITOR, seed_flags, state

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(db):
    return seed_flags()


@pytest.fixture
def alice(make_user):
    return make_user("alice", *FLAG_EDITOR, "flags.change_production_flags")


@pytest.fixture
def bob(make_user):
    return make_user("bob", *FLAG_EDITOR, "flags.change_production_flags")


def entries(**filters):
    return list(AuditEntry.objects.filter(**filters).order_by("pk"))


def test_seeding__the_system_acting__writes_no_audit_rows(seeded):
    # Given the seeds ran with no caller bound (tests, a shell): nobody to attribute them to
    assert AuditEntry.objects.count() == 0


def test_admin_save__one_row_with_the_session_user_ip_and_the_changed_field(seeded, admin_client, admin_user):
    # Given a flag as seeded
    flag = Flag.objects.get(key="reviews")
    # When an administrator changes its owner in the admin
    response = admin_client.post(
        f"/admin/flags/flag/{flag.pk}/change/",
        {"category": flag.category, "description": flag.description, "owner": "storefront", "kind": flag.kind},
        REMOTE_ADDR="192.0.2.9",
    )
    assert response.status_code == 302
    # Then one row says who, how, from where and what changed
    (entry,) = entries(object_id=str(flag.pk), content_type__model="flag")
    assert (entry.actor, entry.actor_label, entry.via, entry.session, entry.ip) == (
        admin_user, admin_user.username, "admin", True, "192.0.2.9"
    )  # fmt: skip
    assert (entry.action, entry.object_repr) == ("update", "reviews")
    assert entry.changes == {"owner": ["commerce", "storefront"]}


def test_status_change__recorded_as_the_transition(seeded, alice, bob):
    # Given alice filed a production change request
    with acting(Caller(user=alice, via="admin", session=True)):
        request = services.set_state(state_id=state("reviews", "production").pk, enabled=True, actor=alice,
                                     reason="launch").change_request  # fmt: skip
    # When bob rejects it
    with acting(Caller(user=bob, via="admin", session=True)):
        services.reject(change_request_id=request.pk, actor=bob)
    # Then the request's rows say it was created by alice, then moved pending → rejected by bob
    rows = entries(content_type__model="changerequest", object_id=str(request.pk))
    assert [(e.actor, e.action) for e in rows] == [(alice, "create"), (bob, "status: pending → rejected")]
    assert rows[1].changes["status"] == ["pending", "rejected"]
    assert rows[1].changes["decided_by"] == [None, bob.pk]


def test_api_write__under_a_token_caller__actor_token_and_no_session(seeded, bob):
    cell = state("reviews", "staging")
    # When the API, having checked bob's token, changes a staging value
    with acting(Caller(user=bob, via="api", token="ops_flags_1a2b3c4d", ip="10.1.2.3")):
        services.set_state(state_id=cell.pk, enabled=True, actor=bob, reason="from CI", source="api")
    # Then the row names bob, the token's prefix, and no session
    (entry,) = entries(content_type__model="flagstate", object_id=str(cell.pk))
    assert (entry.actor, entry.via, entry.token_prefix, entry.session, entry.ip) == (
        bob, "api", "ops_flags_1a2b3c4d", False, "10.1.2.3"
    )  # fmt: skip
    assert entry.actor_label == "bob via token ops_flags_1a2b3c4d"
    assert entry.changes == {"enabled": [False, True]}


def test_command__acts_as_itself_and_its_os_user__secrets_hidden(db, monkeypatch):
    monkeypatch.setenv("OPS_ADMIN_PASSWORD", "a-long-enough-password")
    call_command("ensure_admin", "--username", "root-admin", stdout=io.StringIO())
    (entry,) = entries(content_type__model="user")
    assert entry.via == "command" and entry.actor is None
    assert entry.actor_label.startswith("command ensure_admin by ")
    assert entry.action == "create" and entry.changes["password"] == [None, "(hidden)"]
    assert current() == Caller()  # unbound again after the command


def test_rolled_back_change__leaves_no_audit_row(seeded, admin_user):
    flag = Flag.objects.get(key="reviews")
    with acting(Caller(user=admin_user, via="admin", session=True)):
        with pytest.raises(RuntimeError), transaction.atomic():
            flag.owner = "someone"
            flag.save()
            assert AuditEntry.objects.count() == 1  # written with the change, inside its transaction
            raise RuntimeError("the request failed after the save")
    assert AuditEntry.objects.count() == 0
    assert Flag.objects.get(key="reviews").owner == "commerce"


def test_task__bound_as_the_task_and_only_its_status_changes_recorded(seeded, alice):
    from amarise_ops.celery import app
    from core.task_base import QUEUED_BY, OpsTask, queued_by, stamp_queued_by

    @app.task(base=OpsTask, name="tests.audit.who_acts", bind=False)
    def who_acts():
        return current().label

    assert who_acts.apply().get() == "task tests.audit.who_acts"
    # Queued by a person: run eagerly where it was queued, or by a worker reading the message's header
    with acting(Caller(user=alice, via="admin", session=True)):
        assert who_acts.apply().get() == "task tests.audit.who_acts queued by alice"
        headers = {}
        stamp_queued_by(headers=headers)
        assert headers == {QUEUED_BY: "alice"}
    who_acts.push_request(**{QUEUED_BY: "bob via token ops_flags_1a2b"})
    try:
        assert queued_by(who_acts) == "bob via token ops_flags_1a2b"
    finally:
        who_acts.pop_request()
    # A task's plain save is bookkeeping, not recorded; its status changes are
    with acting(Caller(via="task", name="task flags.apply_scheduled_change")):
        cell = state("reviews", "staging")
        cell.enabled = True
        cell.save()
        request = ChangeRequest.objects.create(state=cell, enabled=False, reason="x", requested_by=alice)
        from core.status import change_status

        change_status(request, "cancelled")
    assert [(e.content_type.model, e.action) for e in entries()] == [("changerequest", "status: pending → cancelled")]


def test_audit_admin__read_only_searchable_and_exported_as_csv(seeded, admin_client, bob):
    with acting(Caller(user=bob, via="api", token="ops_flags_1a2b3c4d", ip="10.1.2.3")):
        services.set_state(state_id=state("reviews", "staging").pk, enabled=True, actor=bob, reason="x", source="api")
    with acting(Caller(via="command", name="=cmd|' /C calc'!A0")):
        services.set_state(state_id=state("reviews", "dev").pk, enabled=False, actor=bob, reason="x")
    # The list searches by actor and filters by via
    page = admin_client.get("/admin/audit/auditentry/?q=10.1.2.3").content.decode()
    assert "bob via token ops_flags_1a2b3c4d" in page and "calc" not in page
    assert "Export as CSV" in page and "Add audit entry" not in page
    entry = AuditEntry.objects.first()
    assert admin_client.post(f"/admin/audit/auditentry/{entry.pk}/change/", {}).status_code == 403
    assert admin_client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    # The export follows the list's filters, one row per entry, formulas defused
    response = admin_client.get("/admin/audit/auditentry/export.csv?via__exact=api")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["actor_label"], r["via"], r["action"]) for r in rows] == [
        ("bob via token ops_flags_1a2b3c4d", "api", "update")
    ]  # fmt: skip
    all_rows = list(csv.DictReader(io.StringIO(
        b"".join(admin_client.get("/admin/audit/auditentry/export.csv").streaming_content).decode())))  # fmt: skip
    assert {r["actor_label"] for r in all_rows} == {"bob via token ops_flags_1a2b3c4d", "'=cmd|' /C calc'!A0"}
