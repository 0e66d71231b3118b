"""The current caller: bound where a call enters, read by whoever records what was done."""

import threading

from core import caller
from core.caller import Caller


def test_no_call_bound__the_system_acts():
    assert caller.current() == caller.SYSTEM
    assert caller.current().label == "system"


def test_acting__binds_for_the_block_and_restores_after():
    with caller.acting(Caller(via="command", ip="10.0.0.1")) as bound:
        assert caller.current() is bound
    assert caller.current() == caller.SYSTEM


def test_a_thread_never_sees_another_threads_caller():
    seen = []
    with caller.acting(Caller(via="command")):
        thread = threading.Thread(target=lambda: seen.append(caller.current()))
        thread.start()
        thread.join()
    assert seen == [caller.SYSTEM]


def test_session_request__bound_as_its_user_with_ip(client, django_user_model):
    from django.http import HttpResponse
    from django.test import RequestFactory

    user = django_user_model.objects.create_user("alice")
    request = RequestFactory().get("/admin/", REMOTE_ADDR="192.0.2.7")
    request.user = user
    seen = {}

    def view(req):
        seen["caller"] = caller.current()
        return HttpResponse()

    caller.CallerMiddleware(view)(request)
    assert seen["caller"] == Caller(user=user, via="admin", session=True, ip="192.0.2.7")
    assert seen["caller"].label == "alice"
    assert caller.current() == caller.SYSTEM


def test_via_of__hooks_apis_and_the_admin():
    assert caller.via_of("/api/hooks/git/") == "hook"
    assert caller.via_of("/api/alerts/alertmanager/") == "hook"
    assert caller.via_of("/api/flags/production/") == "api"
    assert caller.via_of("/ofrep/v1/evaluate/flags") == "api"
    assert caller.via_of("/admin/flags/flag/") == "admin"


def test_caller_without_user__labelled_by_its_name():
    assert caller.for_command("seed_strategy").label.startswith("command seed_strategy by ")
    assert caller.for_task("flags.apply_scheduled_change").label == "task flags.apply_scheduled_change"


def test_token_request__the_session_is_never_read(django_user_model):
    from django.http import HttpResponse
    from django.test import RequestFactory

    class Untouchable:
        @property
        def is_authenticated(self):
            raise AssertionError("the session's user was read on a token call")

    request = RequestFactory().get("/api/flags/staging/", HTTP_AUTHORIZATION="Bearer ops_x")
    request.user = Untouchable()
    seen = {}

    def view(req):
        seen["caller"] = caller.current()
        return HttpResponse()

    caller.CallerMiddleware(view)(request)
    assert seen["caller"].user is None and seen["caller"].session is False
