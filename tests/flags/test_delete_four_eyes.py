"""Deleting a production flag follows the four-eyes rule of changing it (issue 18 item 1)."""

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from flags import services
from flags.choices import ChangeKind
from flags.exceptions import FlagError, NotAllowed
from flags.models import ChangeRequest, Flag
from tests.flags.conftest import FLAG_EDITOR, state

pytestmark = pytest.mark.django_db

DELETER = [*FLAG_EDITOR, "flags.change_production_flags", "flags.delete_flag"]


@pytest.fixture
def dana(make_user):
    return make_user("dana", *DELETER)


@pytest.fixture
def eve(make_user):
    return make_user("eve", *DELETER)


def test_delete_flag__served_in_production__files_a_delete_request_flag_stays(seeded_module, dana):
    outcome = services.delete_flag(flag_id=Flag.objects.get(key="checkoutEnabled").pk, actor=dana, reason="retired")
    request = outcome.change_request
    assert (request.kind, request.status, request.flag_key) == (ChangeKind.DELETE, "pending", "checkoutEnabled")
    assert Flag.objects.filter(key="checkoutEnabled").exists()
    # Asked twice: the same request, not a second one
    again = services.delete_flag(flag_id=request.state.flag_id, actor=dana, reason="retired")
    assert again.change_request.pk == request.pk


def test_delete_request__approved_by_the_requester__refused_flag_stays(seeded_module, dana):
    flag = Flag.objects.get(key="checkoutEnabled")
    request = services.delete_flag(flag_id=flag.pk, actor=dana, reason="retired").change_request
    with pytest.raises(NotAllowed, match="another user"):
        services.approve(change_request_id=request.pk, actor=dana)
    assert Flag.objects.filter(pk=flag.pk).exists()


def test_delete_request__approved_by_a_second_person__flag_gone_request_kept(seeded_module, dana, eve):
    flag = Flag.objects.get(key="checkoutEnabled")
    request = services.delete_flag(flag_id=flag.pk, actor=dana, reason="retired").change_request
    services.approve(change_request_id=request.pk, actor=eve, note="checked with payments")
    assert not Flag.objects.filter(pk=flag.pk).exists()
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.state_id) == ("applied", eve, None)
    assert str(request) == f"#{request.pk} checkoutEnabled: delete the flag"
    record = Flag.history.filter(id=flag.pk, history_type="-").get()
    assert record.history_user == eve and "dana" in record.history_change_reason


def test_delete_flag__without_production_permission__refused(seeded_module, make_user):
    carol = make_user("carol2", *FLAG_EDITOR, "flags.delete_flag")
    with pytest.raises(NotAllowed, match="production"):
        services.delete_flag(flag_id=Flag.objects.get(key="reviews").pk, actor=carol, reason="old")
    assert not ChangeRequest.objects.filter(kind=ChangeKind.DELETE).exists()


def test_delete_flag__blank_reason__refused_nothing_filed(seeded_module, dana):
    with pytest.raises(FlagError, match="reason"):
        services.delete_flag(flag_id=Flag.objects.get(key="reviews").pk, actor=dana, reason=" ")
    assert not ChangeRequest.objects.exists()


def test_admin_delete__asks_a_reason_then_files_the_request_with_it_in_the_audit(seeded_module, client, dana):
    client.force_login(dana)
    flag = Flag.objects.get(key="checkoutEnabled")
    url = reverse("admin:flags_flag_delete", args=[flag.pk])
    page = client.get(url).content.decode()
    assert "Request deletion of checkoutEnabled" in page and "this is production" in page
    assert not ChangeRequest.objects.exists()
    response = client.post(url, {"confirm_reason": "kill switch replaced by payments_v2"})
    request = ChangeRequest.objects.get()
    assert response["Location"] == reverse("admin:flags_changerequest_change", args=[request.pk])
    assert request.reason == "kill switch replaced by payments_v2" and state("checkoutEnabled", "production")
    entry = AuditEntry.objects.get(object_id=str(request.pk), content_type__model="changerequest")
    assert entry.changes["reason"] == [None, "kill switch replaced by payments_v2"]
