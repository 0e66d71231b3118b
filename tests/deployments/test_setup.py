"""The setup dead end (issue 18 item 7): mark the live slot once, confirmed with a reason; the start form's search."""

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from deployments import services
from deployments.choices import SlotRole
from deployments.exceptions import DeploymentRefused, NotAllowed
from deployments.models import Release, Slot
from environments.models import Environment

pytestmark = pytest.mark.django_db


@pytest.fixture
def idle_slots(seeded_module, db):
    """Staging's two slots as the admin adds them: both idle."""
    staging = Environment.objects.get(key="staging")
    blue = Slot.objects.create(environment=staging, color="blue", address="127.0.0.1:9201", server_name="blue")
    green = Slot.objects.create(environment=staging, color="green", address="127.0.0.1:9202", server_name="green")
    return blue, green


def test_mark_live_slot__none_live__marked_with_reason_in_history(idle_slots, make_user):
    blue, _green = idle_slots
    person = make_user("setup", "deployments.change_slot")
    services.mark_live_slot(slot_id=blue.pk, user=person, reason="blue serves shop.staging today")
    blue.refresh_from_db()
    assert blue.role == SlotRole.LIVE
    record = blue.history.latest("history_id")
    assert record.history_user == person and "blue serves shop.staging today" in record.history_change_reason


def test_mark_live_slot__one_already_live__refused_nothing_changes(idle_slots, make_user):
    blue, green = idle_slots
    Slot.objects.filter(pk=blue.pk).update(role=SlotRole.LIVE)
    with pytest.raises(DeploymentRefused, match="already has a live slot"):
        services.mark_live_slot(slot_id=green.pk, user=make_user("setup", "deployments.change_slot"), reason="x")
    assert Slot.objects.get(pk=green.pk).role == SlotRole.IDLE


def test_mark_live_slot__without_permission_or_reason__refused(idle_slots, make_user):
    blue, _green = idle_slots
    with pytest.raises(NotAllowed):
        services.mark_live_slot(slot_id=blue.pk, user=make_user("viewer2", "deployments.view_slot"), reason="x")
    with pytest.raises(DeploymentRefused, match="reason"):
        services.mark_live_slot(slot_id=blue.pk, user=make_user("setup", "deployments.change_slot"), reason=" ")
    assert Slot.objects.get(pk=blue.pk).role == SlotRole.IDLE


def test_admin_mark_live__confirmation_then_marked_and_the_start_preview_says_so(idle_slots, admin_client):
    blue, _green = idle_slots
    listing = admin_client.get(reverse("admin:deployments_slot_changelist")).content.decode()
    assert 'data-mark-live="blue"' in listing and 'data-mark-live="green"' in listing
    url = reverse("admin:deployments_slot_mark_live", args=[blue.pk])
    assert "Mark blue live" in admin_client.get(url).content.decode()
    admin_client.post(url, {"confirm_reason": "blue serves traffic"})
    assert Slot.objects.get(pk=blue.pk).role == SlotRole.LIVE
    entry = AuditEntry.objects.filter(object_id=str(blue.pk), content_type__model="slot").latest("pk")
    assert entry.changes["reason"] == [None, "blue serves traffic"]
    # The list offers it no more, and the start form's preview shows what is live
    assert "data-mark-live" not in admin_client.get(reverse("admin:deployments_slot_changelist")).content.decode()
    Release.objects.create(version="v1.0-rc", ref="release/1.0", ref_kind="branch")
    staging = Environment.objects.get(key="staging")
    options = admin_client.get(reverse("admin:deployments_deployment_start_options"), {"environment": staging.pk})
    preview = options.json()["preview"]
    assert preview["live"].startswith("blue is live") and not preview["needs_live_slot"]
    assert preview["steps"][0] == "deploy" and preview["steps"][-1].startswith("100% for")
    assert [r["version"] for r in options.json()["releases"]] == ["v1.0-rc"]
