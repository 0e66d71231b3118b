"""core.confirm: the one confirmation with a reason (issue 18 item 1)."""

import pytest
from django.contrib import admin
from django.http import HttpResponse
from django.test import RequestFactory

from core.caller import current
from core.confirm import Confirmation, ReasonForm, confirm

CONFIRMATION = Confirmation(action="Roll back now", effect="All traffic goes back to blue.", environment="Production",
                            production=True, cancel_url="/back/")  # fmt: skip


def _post(data, user):
    request = RequestFactory().post("/act/", data)
    request.user = user
    return request


@pytest.mark.parametrize("reason", ["", "   ", "two\nlines", "x" * 301])
def test_reason_form__blank_multiline_or_long__refused(reason):
    assert not ReasonForm({"confirm_reason": reason}).is_valid()


def test_reason_form__300_characters__taken_as_the_switch_back_api_takes_them():
    # The page allowed 200 while `switch_back` and its API take 300: a reason typed for one fits the other
    form = ReasonForm({"confirm_reason": "x" * 300})
    assert form.is_valid() and len(form.cleaned_data["confirm_reason"]) == 300


@pytest.mark.django_db
def test_confirm__no_reason__page_with_carried_fields_nothing_done(admin_user):
    done = []
    response = confirm(_post({"action": "full", "_selected_action": ["1", "2"]}, admin_user), CONFIRMATION,
                       done.append, admin_site=admin.site)  # fmt: skip
    body = response.render().content.decode()
    assert done == [] and response.status_code == 200
    assert "All traffic goes back to blue." in body and "this is production" in body
    assert body.count('name="_selected_action"') == 2 and 'name="action" value="full"' in body


@pytest.mark.django_db
def test_confirm__reason__performs_with_the_reason_on_the_caller(admin_user):
    seen = []

    def perform(reason):
        seen.append((reason, current().reason))
        return HttpResponse("done")

    response = confirm(_post({"confirm_reason": "  5xx at 12%  "}, admin_user), CONFIRMATION, perform,
                       admin_site=admin.site)  # fmt: skip
    assert response.content == b"done" and seen == [("5xx at 12%", "5xx at 12%")]
    assert current().reason == ""  # only while the action runs


@pytest.mark.django_db
def test_confirm__summary_rows_shown_escaped(admin_user):
    summary = Confirmation(**{**CONFIRMATION.__dict__, "summary": (("From", "green · <b>v2.0</b>"), ("To", "blue"))})
    body = confirm(_post({}, admin_user), summary, None, admin_site=admin.site).render().content.decode()
    assert 'id="confirm-summary"' in body and "green · &lt;b&gt;v2.0&lt;/b&gt;" in body and "<dt>To</dt>" in body


@pytest.mark.django_db
def test_confirm__refused__says_why_no_button__a_reason_does_nothing(admin_user):
    done = []
    refused = Confirmation(**{**CONFIRMATION.__dict__, "refusal": "blue no longer holds the previous release."})
    page = confirm(_post({}, admin_user), refused, done.append, admin_site=admin.site).render()
    body = page.content.decode()
    assert 'id="confirm-refusal"' in body and "no longer holds the previous release" in body
    assert 'id="confirm-submit"' not in body and 'id="confirm-cancel"' in body
    forced = confirm(_post({"confirm_reason": "errors"}, admin_user), refused, done.append, admin_site=admin.site)
    assert forced.status_code == 409 and done == []
