"""Scheduled changes: beat's poll finds due rows, a real worker claims each by UPDATE and applies it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from flags import services
from flags.models import FlagState, ScheduledChange
from flags.tasks import apply_due_scheduled_changes
from tests.conftest import wait_until
from tests.flags.conftest import state


@pytest.mark.worker
def test_scheduled_change__due__applied_by_a_real_worker_and_audited(seeded_tx, worker, carol):
    cell = state("reviews", "staging")
    change = services.schedule_change(
        state_id=cell.pk, enabled=True, run_at=timezone.now() - timedelta(seconds=1), actor=carol, reason="launch"
    )
    apply_due_scheduled_changes.delay()  # what beat sends every OPS_FLAGS_SCHEDULE_INTERVAL seconds

    def applied():
        change.refresh_from_db()
        return change.status == "applied"

    wait_until(applied, timeout=30, what="the worker to apply the scheduled change")
    assert state("reviews", "staging").enabled is True
    record = FlagState.history.filter(id=cell.pk).latest("history_id")
    assert record.history_user == carol and record.history_change_reason == f"launch (scheduled #{change.pk})"


@pytest.mark.django_db
def test_apply_scheduled_change__not_due_yet__left_alone(seeded, carol):
    change = services.schedule_change(state_id=state("reviews", "staging").pk, enabled=True, actor=carol,
                                      run_at=timezone.now() + timedelta(hours=1), reason="later")  # fmt: skip
    assert services.due_scheduled_changes() == []
    assert "not due" in services.apply_scheduled_change(scheduled_change_id=change.pk)
    assert state("reviews", "staging").enabled is False


@pytest.mark.django_db
def test_apply_scheduled_change__run_twice__applied_once(seeded, carol):
    change = services.schedule_change(state_id=state("reviews", "staging").pk, enabled=True, actor=carol,
                                      run_at=timezone.now(), reason="now")  # fmt: skip
    services.apply_scheduled_change(scheduled_change_id=change.pk)
    history = FlagState.history.count()
    assert "already handled" in services.apply_scheduled_change(scheduled_change_id=change.pk)
    assert FlagState.history.count() == history


@pytest.mark.django_db
def test_apply_scheduled_change__production__becomes_a_change_request(seeded, alice):
    change = services.schedule_change(state_id=state("reviews", "production").pk, enabled=True, actor=alice,
                                      run_at=timezone.now(), reason="launch")  # fmt: skip
    services.apply_scheduled_change(scheduled_change_id=change.pk)
    change.refresh_from_db()
    assert change.status == "change_requested" and change.change_request.status == "pending"
    assert state("reviews", "production").enabled is False


@pytest.mark.django_db
def test_schedule_change__production_without_permission__refused(seeded, carol):
    from flags.exceptions import NotAllowed

    with pytest.raises(NotAllowed):
        services.schedule_change(state_id=state("reviews", "production").pk, enabled=True, actor=carol,
                                 run_at=timezone.now(), reason="x")  # fmt: skip
    assert not ScheduledChange.objects.exists()


@pytest.mark.django_db
def test_apply_scheduled_change__creator_lost_permission__failed_with_reason(seeded, carol):
    change = services.schedule_change(state_id=state("reviews", "dev").pk, enabled=False, actor=carol,
                                      run_at=timezone.now(), reason="x")  # fmt: skip
    carol.user_permissions.clear()
    services.apply_scheduled_change(scheduled_change_id=change.pk)
    change.refresh_from_db()
    assert change.status == "failed" and "may not" in change.outcome
    assert state("reviews", "dev").enabled is True


@pytest.mark.django_db
def test_cancel_scheduled_change__then_due__not_applied(seeded, carol):
    change = services.schedule_change(state_id=state("reviews", "dev").pk, enabled=False, actor=carol,
                                      run_at=timezone.now(), reason="x")  # fmt: skip
    services.cancel_scheduled_change(scheduled_change_id=change.pk, actor=carol)
    assert services.due_scheduled_changes() == []
    assert state("reviews", "dev").enabled is True


@pytest.mark.django_db
def test_cancel_scheduled_change__production_by_a_login_without_the_permission__refused_still_scheduled(
    seeded, alice, carol, viewer
):
    # Given alice scheduled a production change
    change = services.schedule_change(state_id=state("reviews", "production").pk, enabled=True, actor=alice,
                                      run_at=timezone.now() + timedelta(hours=1), reason="launch")  # fmt: skip
    # When a view-only login, then an engineer without the production permission, cancel it
    for login in (viewer, carol):
        with pytest.raises(services.NotAllowed):
            services.cancel_scheduled_change(scheduled_change_id=change.pk, actor=login)
    # Then it is still scheduled
    change.refresh_from_db()
    assert change.status == "scheduled"
    # And alice, who may make it, may cancel it
    services.cancel_scheduled_change(scheduled_change_id=change.pk, actor=alice)
    change.refresh_from_db()
    assert change.status == "cancelled"


@pytest.mark.django_db
def test_cancel_action__view_only_login__not_offered_and_nothing_cancelled(seeded, client, alice, viewer):
    change = services.schedule_change(state_id=state("reviews", "production").pk, enabled=True, actor=alice,
                                      run_at=timezone.now() + timedelta(hours=1), reason="launch")  # fmt: skip
    client.force_login(viewer)
    response = client.post("/admin/flags/scheduledchange/", {"action": "cancel", "_selected_action": [change.pk]})
    assert response.status_code in (200, 302)
    change.refresh_from_db()
    assert change.status == "scheduled"
