"""The rules: permissions, production change requests (requester ≠ approver), audit, revert, copy, drift, stale."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from core.status import InvalidTransition as StatusRefused
from environments.models import Environment
from flags import services
from flags.exceptions import FlagError, InvalidTransition, NotAllowed
from flags.models import ChangeRequest, Flag, FlagState
from tests.flags.conftest import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(seeded_module, db):
    # Seeded once for this module (no transactional tests here); each test rolls back to that state.
    return seeded_module


def test_set_state__staging__applies_and_audits_who_when_old_new_reason(seeded, carol):
    cell = state("reviews", "staging")
    outcome = services.set_state(state_id=cell.pk, enabled=True, actor=carol, reason="UAT of reviews")
    assert outcome.applied and outcome.change_request is None
    record = FlagState.history.filter(id=cell.pk).latest("history_id")
    assert (record.history_user, record.enabled, record.prev_record.enabled) == (carol, True, False)
    assert record.history_change_reason == "UAT of reviews"
    assert record.history_date > timezone.now() - timedelta(minutes=1)


def test_set_state__already_in_that_state__no_op_and_no_history(seeded, carol):
    cell = state("reviews", "staging")
    before = FlagState.history.count()
    outcome = services.set_state(state_id=cell.pk, enabled=False, actor=carol, reason="again")
    assert not outcome.applied and "already off" in outcome.message
    assert FlagState.history.count() == before


def test_set_state__no_reason__refused_and_nothing_changes(seeded, carol):
    cell = state("reviews", "staging")
    with pytest.raises(FlagError, match="reason"):
        services.set_state(state_id=cell.pk, enabled=True, actor=carol, reason="  ")
    assert state("reviews", "staging").enabled is False


def test_set_state__not_a_boolean__refused(seeded, carol):
    with pytest.raises(FlagError, match="true or false"):
        services.set_state(state_id=state("reviews", "staging").pk, enabled="yes", actor=carol, reason="x")


def test_set_state__production_without_the_permission__refused_and_nothing_changes(seeded, carol):
    with pytest.raises(NotAllowed, match="production"):
        services.set_state(state_id=state("reviews", "production").pk, enabled=True, actor=carol, reason="try")
    assert state("reviews", "production").enabled is False
    assert not ChangeRequest.objects.exists()


def test_set_state__user_without_change_permission__refused(seeded, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    with pytest.raises(NotAllowed):
        services.set_state(state_id=state("reviews", "dev").pk, enabled=False, actor=viewer, reason="x")


def test_set_state__production_with_change_requests_on__files_a_request_and_leaves_the_value(seeded, alice):
    outcome = services.set_state(
        state_id=state("reviews", "production").pk, enabled=True, actor=alice, reason="launch reviews"
    )
    assert outcome.change_request is not None and not outcome.applied
    assert outcome.change_request.status == "pending" and outcome.change_request.requested_by == alice
    assert state("reviews", "production").enabled is False


@override_settings(OPS_FLAGS_PRODUCTION_CHANGE_REQUESTS=False)
def test_set_state__production_with_change_requests_off__applies_with_the_permission(seeded, alice):
    outcome = services.set_state(state_id=state("reviews", "production").pk, enabled=True, actor=alice, reason="go")
    assert outcome.applied and state("reviews", "production").enabled is True


def test_approve__by_the_requester__refused_and_nothing_applies(seeded, alice):
    request = services.set_state(
        state_id=state("reviews", "production").pk, enabled=True, actor=alice, reason="launch"
    ).change_request
    with pytest.raises(NotAllowed, match="another user"):
        services.approve(change_request_id=request.pk, actor=alice)
    request.refresh_from_db()
    assert request.status == "pending" and state("reviews", "production").enabled is False


def test_approve__by_a_user_without_production_permission__refused(seeded, alice, carol):
    request = services.set_state(
        state_id=state("reviews", "production").pk, enabled=True, actor=alice, reason="launch"
    ).change_request
    with pytest.raises(NotAllowed):
        services.approve(change_request_id=request.pk, actor=carol)
    assert state("reviews", "production").enabled is False


def test_approve__by_another_user__applies_and_audits_both_names(seeded, alice, bob):
    request = services.set_state(
        state_id=state("reviews", "production").pk, enabled=True, actor=alice, reason="launch"
    ).change_request
    outcome = services.approve(change_request_id=request.pk, actor=bob, note="looks right")
    assert outcome.applied and state("reviews", "production").enabled is True
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.note) == ("applied", bob, "looks right")
    record = FlagState.history.filter(id=request.state_id).latest("history_id")
    assert record.history_user == bob and "alice" in record.history_change_reason
    # The transition itself is an event row too.
    assert list(request.history.order_by("history_id").values_list("status", flat=True)) == ["pending", "applied"]


def test_approve__twice__second_is_a_no_op(seeded, alice, bob):
    request = services.set_state(
        state_id=state("reviews", "production").pk, enabled=True, actor=alice, reason="launch"
    ).change_request
    services.approve(change_request_id=request.pk, actor=bob)
    count = FlagState.history.count()
    services.approve(change_request_id=request.pk, actor=bob)
    assert FlagState.history.count() == count


def test_reject__then_approve__invalid_transition(seeded, alice, bob):
    request = services.set_state(
        state_id=state("reviews", "production").pk, enabled=True, actor=alice, reason="launch"
    ).change_request
    services.reject(change_request_id=request.pk, actor=bob, note="not this week")
    with pytest.raises(InvalidTransition, match="rejected"):
        services.approve(change_request_id=request.pk, actor=bob)
    assert state("reviews", "production").enabled is False


def test_cancel__by_someone_else__refused_by_the_requester__cancelled(seeded, alice, bob):
    request = services.set_state(
        state_id=state("reviews", "production").pk, enabled=True, actor=alice, reason="launch"
    ).change_request
    with pytest.raises(NotAllowed):
        services.cancel(change_request_id=request.pk, actor=bob)
    assert services.cancel(change_request_id=request.pk, actor=alice).status == "cancelled"


def test_revert__a_staging_change__puts_the_old_value_back_audited(seeded, carol):
    cell = state("darkMode", "staging")
    services.set_state(state_id=cell.pk, enabled=True, actor=carol, reason="try dark mode")
    change = FlagState.history.filter(id=cell.pk).latest("history_id")
    services.revert(history_id=change.history_id, actor=carol)
    assert state("darkMode", "staging").enabled is False
    latest = FlagState.history.filter(id=cell.pk).latest("history_id")
    assert latest.history_change_reason == f"Revert of change #{change.history_id}"


def test_revert__the_seeded_creation__refused(seeded, carol):
    created = FlagState.history.filter(id=state("darkMode", "staging").pk).earliest("history_id")
    with pytest.raises(FlagError, match="no earlier value"):
        services.revert(history_id=created.history_id, actor=carol)


def test_audit_rows__after_a_change__newest_first_with_old_and_new(seeded, carol):
    services.set_state(state_id=state("darkMode", "dev").pk, enabled=False, actor=carol, reason="dim")
    rows = services.audit_rows(Flag.objects.get(key="darkMode"))
    assert (rows[0]["who"], rows[0]["old"], rows[0]["new"], rows[0]["reason"]) == (carol, True, False, "dim")
    assert rows[0]["revertible"] and rows[-1]["reason"] == "seeded"


def test_set_many__bulk_disable_in_dev__each_flag_changed_and_audited(seeded, carol):
    ids = Flag.objects.filter(category="ui").values_list("pk", flat=True)
    dev = Environment.objects.get(key="dev")
    outcomes = services.set_many(flag_ids=ids, environment_id=dev.pk, enabled=False, actor=carol, reason="ui freeze")
    assert len(outcomes) == 4 and all(o.applied for o in outcomes)
    assert not FlagState.objects.filter(environment=dev, flag__category="ui", enabled=True).exists()


def test_set_many__production_without_permission__nothing_changes(seeded, carol):
    ids = Flag.objects.values_list("pk", flat=True)
    production = Environment.objects.get(key="production")
    with pytest.raises(NotAllowed):
        services.set_many(flag_ids=ids, environment_id=production.pk, enabled=True, actor=carol, reason="all on")
    assert FlagState.objects.filter(environment=production, enabled=True).count() == 4


def test_copy_environment__production_onto_staging__diff_then_equal(seeded, carol):
    staging, production = Environment.objects.get(key="staging"), Environment.objects.get(key="production")
    services.set_state(state_id=state("reviews", "staging").pk, enabled=True, actor=carol, reason="UAT")
    diff = services.environment_diff(source_id=production.pk, target_id=staging.pk)
    assert diff == [("guestCheckout", False, True), ("preOrders", False, True), ("reviews", False, True)]
    services.copy_environment(source_id=production.pk, target_id=staging.pk, actor=carol)
    assert services.environment_diff(source_id=production.pk, target_id=staging.pk) == []


def test_copy_environment__onto_production__becomes_change_requests(seeded, alice):
    staging, production = Environment.objects.get(key="staging"), Environment.objects.get(key="production")
    outcomes = services.copy_environment(source_id=staging.pk, target_id=production.pk, actor=alice)
    assert len(outcomes) == 2 and all(o.change_request for o in outcomes)
    assert state("guestCheckout", "production").enabled is False


def test_copy_environment__same_environment__refused(seeded, carol):
    staging = Environment.objects.get(key="staging")
    with pytest.raises(FlagError, match="two different"):
        services.copy_environment(source_id=staging.pk, target_id=staging.pk, actor=carol)


def test_drift_report__seeded__staging_differs_from_production_where_the_table_says(seeded):
    report = services.drift_report()
    assert [k for k, *_ in report.staging_vs_production] == ["guestCheckout", "preOrders"]
    assert report.off_plan == []


def test_drift_report__operator_change__listed_off_plan(seeded, carol):
    services.set_state(state_id=state("journal", "dev").pk, enabled=False, actor=carol, reason="hide journal")
    assert services.drift_report().off_plan == [("journal", "dev", True, False)]


def test_stale_flags__unchanged_for_n_days__uniform_flags_only_and_never_kill_switches(seeded):
    later = timezone.now() + timedelta(days=31)
    stale = {f.key for f in services.stale_flags(days=30, now=later)}
    # On everywhere: wishlist, browseByRitual, journal (checkoutEnabled is a kill switch). Mixed flags are not stale.
    assert stale == {"wishlist", "browseByRitual", "journal"}
    assert services.stale_flags(days=30) == []


def test_stale_flags__recently_changed__not_stale(seeded, carol):
    services.set_state(state_id=state("journal", "dev").pk, enabled=False, actor=carol, reason="x")
    services.set_state(state_id=state("journal", "dev").pk, enabled=True, actor=carol, reason="y")
    FlagState.objects.exclude(flag__key="journal").update(updated_at=timezone.now() - timedelta(days=40))
    FlagState.objects.filter(flag__key="journal").exclude(environment__key="dev").update(
        updated_at=timezone.now() - timedelta(days=40)
    )
    stale = {f.key for f in services.stale_flags(days=30)}
    assert "journal" not in stale and "wishlist" in stale


def test_flags_drift_command__off_plan_cell__listed_and_exit_status_1(seeded, carol):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("flags_drift", "--stale", stdout=out)
    assert "guestCheckout: staging on, production off" in out.getvalue()
    services.set_state(state_id=state("journal", "dev").pk, enabled=False, actor=carol, reason="hide")
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("flags_drift", stdout=out)
    assert exit_.value.code == 1 and "journal in dev: planned on, now off" in out.getvalue()


# --- Status changes (core.status.change_status; the event row is the history record) -------------


def _pending_request(actor):
    return services.set_state(
        state_id=state("reviews", "production").pk, enabled=True, actor=actor, reason="launch"
    ).change_request


def test_change_request__outside_the_map__refused_clearly_and_nothing_changes(seeded, alice, bob):
    request = _pending_request(alice)
    services.reject(change_request_id=request.pk, actor=bob, note="not this week")
    records = request.history.count()

    with pytest.raises(InvalidTransition) as refused:
        services.cancel(change_request_id=request.pk, actor=alice)

    assert str(refused.value) == f"Change request #{request.pk} is rejected; it cannot go to cancelled."
    assert isinstance(refused.value, StatusRefused)
    request.refresh_from_db()
    assert request.status == "rejected" and request.history.count() == records


def test_change_request__to_its_current_status__no_op_without_a_record(seeded, alice, bob):
    request = _pending_request(alice)
    services.reject(change_request_id=request.pk, actor=bob, note="not this week")
    records = request.history.count()

    services.reject(change_request_id=request.pk, actor=bob, note="again")

    request.refresh_from_db()
    assert (request.status, request.note) == ("rejected", "not this week")
    assert request.history.count() == records


def test_change_request__decided__one_record_with_who_and_why(seeded, alice, bob):
    request = _pending_request(alice)

    services.reject(change_request_id=request.pk, actor=bob, note="not this week")

    latest = request.history.latest("history_id")
    assert (latest.status, latest.history_user, latest.history_change_reason) == ("rejected", bob, "rejected by bob")
    assert request.history.count() == 2


def test_scheduled_change__outside_the_map__refused_clearly_and_nothing_changes(seeded, carol):
    change = services.schedule_change(state_id=state("reviews", "staging").pk, enabled=True, actor=carol,
                                      run_at=timezone.now(), reason="now")  # fmt: skip
    services.apply_scheduled_change(scheduled_change_id=change.pk)
    records = change.history.count()

    with pytest.raises(InvalidTransition) as refused:
        services.cancel_scheduled_change(scheduled_change_id=change.pk, actor=carol)

    assert str(refused.value) == f"Scheduled change #{change.pk} is applied; it cannot go to cancelled."
    assert isinstance(refused.value, StatusRefused)
    change.refresh_from_db()
    assert change.status == "applied" and change.history.count() == records


def test_scheduled_change__to_its_current_status__no_op_without_a_record(seeded, carol):
    change = services.schedule_change(state_id=state("reviews", "staging").pk, enabled=True, actor=carol,
                                      run_at=timezone.now() + timedelta(hours=1), reason="later")  # fmt: skip
    services.cancel_scheduled_change(scheduled_change_id=change.pk, actor=carol)
    records = change.history.count()

    services.cancel_scheduled_change(scheduled_change_id=change.pk, actor=carol)

    assert change.history.count() == records
    latest = change.history.latest("history_id")
    assert (latest.status, latest.history_user, latest.history_change_reason) == ("cancelled", carol, "cancelled")


def test_scheduled_change__applied__each_step_recorded(seeded, carol):
    change = services.schedule_change(state_id=state("reviews", "staging").pk, enabled=True, actor=carol,
                                      run_at=timezone.now(), reason="now")  # fmt: skip

    services.apply_scheduled_change(scheduled_change_id=change.pk)

    steps = list(change.history.order_by("history_id").values_list("status", "history_change_reason"))
    assert steps == [("scheduled", None), ("applying", "applying"), ("applied", "applied")]
