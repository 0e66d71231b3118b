"""The admin: the table with one-click flips, bulk actions, copy, drift, stale, audit with revert, approvals, tokens."""

import re

import pytest
from django.urls import reverse

from environments.models import Environment
from flags import services
from flags.models import ChangeRequest, Flag, FlagState
from tests.flags.conftest import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(seeded_module, db):
    # Seeded once for this module (no transactional tests here); each test rolls back to that state.
    return seeded_module


CHANGELIST = "/admin/flags/flag/"


def test_changelist__reads_like_the_strategy_table(seeded, admin_client):
    body = admin_client.get(CHANGELIST).content.decode()
    headers = re.findall(r'<th scope="col" class="column-env_(\w+)', body)
    assert headers == ["local", "dev", "staging", "production"]
    row = body.split(">reviews<")[1].split("</tr>")[0]
    values = re.findall(r'data-environment="(\w+)">(on|off)<', row)
    assert values == [("local", "on"), ("dev", "on"), ("staging", "off"), ("production", "off")]
    assert "Copy environment" in body and "Drift report" in body and "Stale flags" in body


def test_changelist__category_filter_and_search(seeded, admin_client):
    body = admin_client.get(CHANGELIST, {"category__exact": "experimental"}).content.decode()
    assert ">arTryOn<" in body and ">reviews<" not in body
    body = admin_client.get(CHANGELIST, {"q": "ritual"}).content.decode()
    assert ">browseByRitual<" in body and ">darkMode<" not in body


def test_changelist__production_cells_ask_for_confirmation(seeded, admin_client):
    body = admin_client.get(CHANGELIST).content.decode()
    production_forms = re.findall(r'<form[^>]*onsubmit="([^"]*)"[^>]*>(?:(?!</form>).)*data-environment="production"',
                                  body)  # fmt: skip
    staging_forms = re.findall(r'<form[^>]*onsubmit="([^"]*)"[^>]*>(?:(?!</form>).)*data-environment="staging"', body)
    assert production_forms and all("confirm(" in s for s in production_forms)
    assert staging_forms and all("confirm(" not in s for s in staging_forms)


def test_changelist__warm_admin__query_count_does_not_grow_with_flags(seeded, admin_client,
                                                                     django_assert_max_num_queries):  # fmt: skip
    with django_assert_max_num_queries(15):
        admin_client.get(CHANGELIST)


def test_toggle__one_click_in_staging__flipped_and_audited(seeded, admin_client, admin_user):
    cell = state("reviews", "staging")
    response = admin_client.post(reverse("admin:flags_flag_toggle", args=[cell.pk]))
    assert response.status_code == 302
    assert state("reviews", "staging").enabled is True
    assert FlagState.history.filter(id=cell.pk).latest("history_id").history_user == admin_user


def test_toggle__get__refused_and_nothing_changes(seeded, admin_client):
    cell = state("reviews", "staging")
    assert admin_client.get(reverse("admin:flags_flag_toggle", args=[cell.pk])).status_code == 403
    assert state("reviews", "staging").enabled is False


def test_toggle__production__files_a_change_request(seeded, admin_client):
    cell = state("reviews", "production")
    response = admin_client.post(reverse("admin:flags_flag_toggle", args=[cell.pk]), follow=True)
    assert "awaits another user" in response.content.decode()
    assert ChangeRequest.objects.get().enabled is True and state("reviews", "production").enabled is False


def test_toggle__production_without_permission__refused_and_nothing_changes(seeded, client, carol):
    # Given carol, who may change flags outside production only
    client.force_login(carol)
    # When she posts a production flip anyway (the table shows her no button for it)
    response = client.post(reverse("admin:flags_flag_toggle", args=[state("reviews", "production").pk]))
    # Then it is refused and nothing changes
    assert response.status_code == 403
    assert not ChangeRequest.objects.exists() and state("reviews", "production").enabled is False


def test_flags_table__production_without_permission__values_shown_without_a_flip(seeded, client, carol):
    client.force_login(carol)
    page = client.get(CHANGELIST).content.decode()
    # Then staging cells are buttons, production cells plain values
    assert 'button type="submit" class="ops-flag ops-bad" data-flag="reviews" data-environment="staging"' in page
    assert 'data-flag="reviews" data-environment="production">off</span>' in page
    assert 'class="ops-flag ops-bad" data-flag="reviews" data-environment="production"' not in page


def _action(client, action, flags, environment):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [f.pk for f in flags],
                                    "environment": environment.pk if environment else ""}, follow=True)  # fmt: skip


def test_bulk_action__disable_ui_flags_in_dev__all_off(seeded, admin_client):
    dev = Environment.objects.get(key="dev")
    _action(admin_client, "disable_in_environment", Flag.objects.filter(category="ui"), dev)
    assert not FlagState.objects.filter(environment=dev, flag__category="ui", enabled=True).exists()
    assert FlagState.objects.filter(environment__key="local", flag__category="ui", enabled=True).count() == 4


def test_bulk_action__no_environment_chosen__message_and_nothing_changes(seeded, admin_client):
    response = _action(admin_client, "disable_in_environment", Flag.objects.all(), None)
    assert "Choose the environment" in response.content.decode()
    assert FlagState.objects.filter(enabled=True).count() == 19 * 2 + 6 + 4  # local+dev, staging, production


def test_copy_environment__preview_shows_diff_then_confirm_applies(seeded, admin_client):
    staging, production = Environment.objects.get(key="staging"), Environment.objects.get(key="production")
    url = reverse("admin:flags_flag_copy")
    data = {"source": production.pk, "target": staging.pk, "reason": "align with production"}
    preview = admin_client.post(url, {**data, "preview": "1"}).content.decode()
    assert "guestCheckout" in preview and "preOrders" in preview and "reviews" not in preview.split("copy-diff")[1]
    assert state("guestCheckout", "staging").enabled is True  # the preview changed nothing
    admin_client.post(url, {**data, "confirm": "1"})
    assert services.environment_diff(source_id=production.pk, target_id=staging.pk) == []
    record = FlagState.history.filter(id=state("guestCheckout", "staging").pk).latest("history_id")
    assert record.history_change_reason == "align with production"


def test_copy_environment__same_environment__form_error(seeded, admin_client):
    staging = Environment.objects.get(key="staging")
    body = admin_client.post(reverse("admin:flags_flag_copy"), {"source": staging.pk, "target": staging.pk,
                                                                "confirm": "1"}).content.decode()  # fmt: skip
    assert "Pick two different environments" in body


def test_drift_report__lists_staging_vs_production_and_off_plan(seeded, admin_client, carol):
    services.set_state(state_id=state("journal", "dev").pk, enabled=False, actor=carol, reason="hide")
    body = admin_client.get(reverse("admin:flags_flag_drift")).content.decode()
    staging = body.split('id="drift-staging"')[1].split("</table>")[0]
    assert "guestCheckout" in staging and "preOrders" in staging and "reviews" not in staging
    assert "journal" in body.split('id="drift-plan"')[1]


def test_stale_view__lists_uniform_unchanged_flags(seeded, admin_client):
    from datetime import timedelta

    from django.utils import timezone

    FlagState.objects.update(updated_at=timezone.now() - timedelta(days=45))
    body = admin_client.get(reverse("admin:flags_flag_stale")).content.decode()
    table = body.split('id="stale-flags"')[1]
    assert "wishlist" in table and "checkoutEnabled" not in table and "reviews" not in table


def test_flag_page__shows_audit_and_reverts_from_there(seeded, admin_client, carol):
    services.set_state(state_id=state("darkMode", "staging").pk, enabled=True, actor=carol, reason="try it")
    flag = Flag.objects.get(key="darkMode")
    body = admin_client.get(reverse("admin:flags_flag_change", args=[flag.pk])).content.decode()
    assert "try it" in body and "carol" in body
    change = FlagState.history.filter(id=state("darkMode", "staging").pk).latest("history_id")
    assert reverse("admin:flags_flag_revert", args=[change.history_id]) in body
    admin_client.post(reverse("admin:flags_flag_revert", args=[change.history_id]))
    assert state("darkMode", "staging").enabled is False


def test_change_request_admin__approve_by_requester_refused_by_other_applied(seeded, client, alice, bob):
    request = services.set_state(state_id=state("reviews", "production").pk, enabled=True, actor=alice,
                                 reason="launch").change_request  # fmt: skip
    url = reverse("admin:flags_changerequest_changelist")
    client.force_login(alice)
    body = client.post(url, {"action": "approve", "_selected_action": [request.pk]}, follow=True).content.decode()
    assert "another user must approve" in body and state("reviews", "production").enabled is False
    client.force_login(bob)
    client.post(url, {"action": "approve", "_selected_action": [request.pk]})
    assert state("reviews", "production").enabled is True


def test_change_request_page__approve_button__applied(seeded, client, alice, bob):
    request = services.set_state(state_id=state("reviews", "production").pk, enabled=True, actor=alice,
                                 reason="launch").change_request  # fmt: skip
    page_url = reverse("admin:flags_changerequest_change", args=[request.pk])
    client.force_login(alice)
    assert 'id="approve-request"' not in client.get(page_url).content.decode()  # her own: she may only cancel
    client.force_login(bob)
    page = client.get(page_url).content.decode()
    assert 'id="approve-request"' in page and "Change request #" in page

    response = client.post(reverse("admin:flags_changerequest_decide", args=[request.pk, "approve"]), follow=True)

    assert "approved and applied" in response.content.decode()
    assert state("reviews", "production").enabled is True


def test_matrix__pending_request__marked__flip_carries_the_reason(seeded, admin_client, alice):
    services.set_state(state_id=state("reviews", "production").pk, enabled=True, actor=alice, reason="launch")
    body = admin_client.get(CHANGELIST).content.decode()
    assert 'data-pending="reviews"' in body and body.count("⏳ pending") == 1
    assert 'id="flip-reason"' in body and 'name="reason"' in body

    cell = state("reviews", "staging")
    admin_client.post(reverse("admin:flags_flag_toggle", args=[cell.pk]), {"reason": "Testing the new reviews"})

    assert FlagState.history.filter(id=cell.pk).latest("history_id").history_change_reason == "Testing the new reviews"


def test_dashboard__flag_line_per_environment(seeded, admin_client):
    body = admin_client.get(reverse("admin:index")).content.decode()
    production = body.split('data-environment="production"')[1].split("</article>")[0]
    assert "4 of 19 on" in production


def test_add_flag__in_the_admin__one_cell_per_environment_by_the_section_2_rule(seeded, admin_client):
    response = admin_client.post(reverse("admin:flags_flag_add"), {"key": "giftWrap", "category": "commerce",
                                 "description": "Gift wrapping", "owner": "commerce", "kind": "release"})  # fmt: skip
    assert response.status_code == 302
    cells = dict(FlagState.objects.filter(flag__key="giftWrap").values_list("environment__key", "enabled"))
    assert cells == {"local": True, "dev": True, "staging": False, "production": False}


def test_add_flag__key_not_camel_case__form_error_and_nothing_created(seeded, admin_client):
    body = admin_client.post(reverse("admin:flags_flag_add"), {"key": "gift-wrap", "category": "commerce",
                             "kind": "release"}).content.decode()  # fmt: skip
    assert "camelCase" in body and not Flag.objects.filter(key="gift-wrap").exists()


def _schedule(client, cell, when="2030-01-01 10:00:00"):
    return client.post(reverse("admin:flags_scheduledchange_add"), {"state": cell.pk, "enabled": "on",
                       "run_at_0": when.split()[0], "run_at_1": when.split()[1], "reason": "launch"})  # fmt: skip


def test_schedule_change_admin__staging__scheduled_by_the_user(seeded, client, carol):
    from django.contrib.auth.models import Permission

    from flags.models import ScheduledChange

    carol.user_permissions.add(*Permission.objects.filter(codename__in=["add_scheduledchange", "view_scheduledchange"]))
    client.force_login(carol)
    assert _schedule(client, state("reviews", "staging")).status_code == 302
    change = ScheduledChange.objects.get()
    assert (change.created_by, change.enabled, change.status) == (carol, True, "scheduled")


def test_schedule_change_admin__production_without_permission__form_error_nothing_scheduled(seeded, client, carol):
    from django.contrib.auth.models import Permission

    from flags.models import ScheduledChange

    carol.user_permissions.add(*Permission.objects.filter(codename__in=["add_scheduledchange"]))
    client.force_login(carol)
    body = _schedule(client, state("reviews", "production")).content.decode()
    assert "Can change flag values in production" in body and not ScheduledChange.objects.exists()


def test_dashboard__pending_production_approval__warned_on_the_card(seeded, admin_client, alice):
    services.set_state(state_id=state("reviews", "production").pk, enabled=True, actor=alice, reason="launch")
    body = admin_client.get(reverse("admin:index")).content.decode()
    production = body.split('data-environment="production"')[1].split("</article>")[0]
    assert "1 waiting" in production and "4 of 19 on" in production


def test_flag_page__production_without_permission__values_shown_without_a_flip(seeded, client, carol, viewer):
    from flags.models import Flag

    url = reverse("admin:flags_flag_change", args=[Flag.objects.get(key="reviews").pk])
    # Given carol (flags outside production): her page has staging's button, production's value
    client.force_login(carol)
    page = client.get(url).content.decode()
    assert 'data-flag="reviews" data-environment="staging">off</button>' in page
    assert 'data-flag="reviews" data-environment="production">off</span>' in page
    # And a viewer's page has values only
    client.force_login(viewer)
    page = client.get(url).content.decode()
    assert 'data-flag="reviews" data-environment="staging">off</span>' in page
    assert 'formaction="/admin/flags/flag/toggle/' not in page
