"""The lean read path (flags/lean.py): the existing API tests again through it, plus what only it promises.

The read tests of test_api.py are imported here unchanged and run with `client` answering through
LeanFlagsApp in front of Django, as gunicorn serves the console: the lean path must give the same answers,
and hand every error to Django.
"""

import io
import json

import pytest
import redis
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.contrib.sessions.models import Session
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse
from django.test import Client
from django.test.client import ClientHandler

from core import tokens
from core.models import ApiToken
from flags import lean
from tests.flags.test_api import (  # noqa: F401 - collected again here, with the lean client below
    test_detail__known_flag__its_value,
    test_detail__unknown_flag_or_environment__404_json,
    test_document__after_a_change__version_and_etag_change,
    test_document__if_none_match_current_etag__304,
    test_document__production__environment_flags_version_etag_and_max_age,
    test_document__unknown_environment__404_json,
    test_ofrep__no_token__401,
    test_ofrep__token_for_several_environments__context_environment_picks_within_scope,
    test_ofrep__token_revoked_in_the_admin__refused_on_the_next_request,
    test_ofrep_bulk__flags_array_with_etag_then_304,
    test_ofrep_single__body_not_json__400_parse_error,
    test_ofrep_single__context_not_an_object__400_invalid_context,
    test_ofrep_single__environment_comes_from_the_token,
    test_ofrep_single__token_scoped_to_production__evaluation_success_shape,
    test_ofrep_single__unknown_flag__404_flag_not_found,
)

pytestmark = pytest.mark.django_db


class LeanClientHandler(ClientHandler):
    """The test client's handler with LeanFlagsApp in front, as amarise_ops/wsgi.py puts it."""

    answered = 0  # how many requests the lean path answered itself (the rest went to Django)

    def __call__(self, environ):
        captured = {}

        def start_response(status, headers):
            captured["status"], captured["headers"] = status, headers

        app = lean.LeanFlagsApp(lambda environ, start: None)
        # Like the test client: a request must not close the test's connection (it runs inside a transaction).
        finish, lean._finish = lean._finish, lambda opened: None
        try:
            body = app(environ, start_response)
        finally:
            lean._finish = finish
        if body is None:  # declined: Django answers, through the whole middleware stack
            return super().__call__(environ)
        LeanClientHandler.answered += 1
        response = HttpResponse(b"".join(body), status=int(captured["status"].split()[0]))
        for name, value in captured["headers"]:
            response[name] = value
        response.wsgi_request = WSGIRequest(environ)
        response.lean = True
        return response


class LeanClient(Client):
    def __init__(self, **defaults):
        super().__init__(**defaults)
        self.handler = LeanClientHandler(enforce_csrf_checks=False)


@pytest.fixture
def client():
    return LeanClient()


@pytest.fixture
def seeded(seeded_module, db):
    return seeded_module


def _auth(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _ofrep(client, url, body=None, **headers):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json", **headers)


# --- routing, as a plain function -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/flags/production/", ("document", "production", None)),
        ("HEAD", "/api/flags/dev/darkMode/", ("detail", "dev", "darkMode")),
        ("POST", "/ofrep/v1/evaluate/flags", ("ofrep bulk", None, None)),
        ("POST", "/ofrep/v1/evaluate/flags/reviews", ("ofrep single", None, "reviews")),
        ("PATCH", "/api/flags/dev/darkMode/", None),  # writes are Django's
        ("GET", "/api/flags/production", None),  # APPEND_SLASH's redirect is Django's
        ("GET", "/api/flags/a/b/c/", None),
        ("GET", "/api/flags/pro.duction/", None),  # not a slug
        ("GET", "/ofrep/v1/evaluate/flags", None),
        ("POST", "/ofrep/v1/evaluate/flags/a/b", None),
        ("GET", "/api/flags/", None),
    ],
)
def test_route__only_the_four_reads(method, path, expected):
    assert lean.route(method, path) == expected


# --- what only the lean path promises ---------------------------------------------------------------------


def test_warm_document_get__lean__no_query_no_session(seeded, client, django_assert_num_queries, monkeypatch):
    # Given a warm document (read once)
    assert client.get("/api/flags/production/").status_code == 200
    sessions_before = Session.objects.count()
    touched = []
    monkeypatch.setattr(SessionMiddleware, "process_request", lambda self, request: touched.append(request))
    # When it is read again, with a session cookie even
    client.cookies["sessionid"] = "no-such-session"
    with django_assert_num_queries(0):
        response = client.get("/api/flags/production/")
    # Then the lean path answered it: no query, no session middleware, no session made, no cookie set
    assert response.status_code == 200 and getattr(response, "lean", False)
    assert response.json()["flags"]["checkoutEnabled"] is True
    assert touched == [] and Session.objects.count() == sessions_before
    assert "Set-Cookie" not in response and "Vary" not in response


def test_warm_ofrep_bulk__lean__no_query(seeded, client, make_token, django_assert_num_queries):
    raw = make_token(environments=["production"])
    assert _ofrep(client, "/ofrep/v1/evaluate/flags", **_auth(raw)).status_code == 200
    with django_assert_num_queries(0):
        response = _ofrep(client, "/ofrep/v1/evaluate/flags", {"context": {"targetingKey": "u1"}}, **_auth(raw))
    assert response.status_code == 200 and response.lean
    assert {f["key"]: f["variant"] for f in response.json()["flags"]}["checkoutEnabled"] == "on"


@pytest.mark.parametrize(
    ("method", "url", "body", "token"),
    [
        ("get", "/api/flags/production/", None, False),
        ("get", "/api/flags/production/checkoutEnabled/", None, False),
        ("post", "/ofrep/v1/evaluate/flags", {}, True),
        ("post", "/ofrep/v1/evaluate/flags/checkoutEnabled", {"context": {}}, True),
    ],
)
def test_lean_answer__same_status_body_and_headers_as_django(seeded, make_token, settings, method, url, body, token):
    # Given the production settings' security headers (HSTS needs https)
    settings.SECURE_HSTS_SECONDS, settings.SECURE_SSL_REDIRECT = 3600, True
    headers = {**(_auth(make_token(environments=["production"])) if token else {}), "secure": True}
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    # When the same request is answered by Django and by the lean path
    django_answer = getattr(Client(), method)(url, **kwargs, **headers)
    lean_answer = getattr(LeanClient(), method)(url, **kwargs, **headers)
    # Then both say the same, header for header (but Vary: Cookie, which the lean path has no reason to send)
    assert lean_answer.lean and not getattr(django_answer, "lean", False)
    assert (lean_answer.status_code, lean_answer.content) == (django_answer.status_code, django_answer.content)
    theirs = {k: v for k, v in django_answer.items() if k != "Vary"}
    assert dict(lean_answer.items()) == theirs


def test_plain_http_with_ssl_redirect__left_to_django(seeded, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = LeanClient().get("/api/flags/production/")
    assert response.status_code == 301 and not getattr(response, "lean", False)


def test_disallowed_host__left_to_django(seeded):
    response = LeanClient().get("/api/flags/production/", HTTP_HOST="evil.example")
    assert response.status_code == 400 and not getattr(response, "lean", False)


def test_declined_ofrep__django_reads_the_same_body(seeded, make_token):
    # Given a body the lean path reads and declines (a context environment outside the token's scope)
    raw = make_token(environments=["staging"])
    body = {"context": {"environment": "production"}}
    response = _ofrep(LeanClient(), "/ofrep/v1/evaluate/flags/reviews", body, **_auth(raw))
    # Then Django answers from that same body: the token is not scoped to production
    assert response.status_code == 403 and "production" in response.json()["errorDetails"]


def test_token_changed_by_another_process__refused_on_the_next_read(seeded, client, make_token):
    # Given a token this process has in its digest map (used once)
    raw = make_token(environments=["staging"])
    assert _ofrep(client, "/ofrep/v1/evaluate/flags/reviews", **_auth(raw)).status_code == 200
    assert tokens._store().get(tokens._key(tokens.digest(raw)))["revoked"] is False
    # When another process revokes it: the database row, then its forget() deletes the shared entry
    ApiToken.objects.update(revoked_at="2026-01-01T00:00Z")
    other_process = redis.Redis.from_url(settings.REDIS_URL)
    assert other_process.delete(tokens._key(tokens.digest(raw))) == 1
    # Then Redis's invalidation reaches this process before its next read: refused at once
    response = _ofrep(client, "/ofrep/v1/evaluate/flags/reviews", **_auth(raw))
    assert response.status_code == 401 and "revoked" in response.json()["errorDetails"]


def test_last_use__recorded_once_a_minute_through_the_lean_path(seeded, client, make_token):
    raw = make_token(environments=["staging"])
    for _ in range(3):
        assert _ofrep(client, "/ofrep/v1/evaluate/flags/reviews", **_auth(raw)).lean
    token = ApiToken.objects.get()
    assert token.last_used_at is not None


def test_wsgi_application__is_the_lean_app_in_front_of_django():
    from amarise_ops import wsgi

    assert isinstance(wsgi.application, lean.LeanFlagsApp)
    assert isinstance(wsgi.application.django_app, WSGIHandler)


def test_wsgi_level__declined_post__django_gets_the_body(seeded, make_token):
    # The real WSGI call, as gunicorn makes it: a declined OFREP POST reaches Django with its body intact
    from amarise_ops import wsgi

    raw = make_token(environments=["staging"])
    body = json.dumps({"context": "x"}).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/ofrep/v1/evaluate/flags/reviews", "SERVER_NAME": "testserver",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
               "HTTP_AUTHORIZATION": f"Bearer {raw}", "QUERY_STRING": ""}  # fmt: skip
    seen = {}
    finish, lean._finish = lean._finish, lambda opened: None
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        answer = b"".join(wsgi.application(environ, lambda status, headers: seen.update(status=status)))
    finally:
        lean._finish = finish
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert seen["status"].startswith("400") and json.loads(answer)["errorCode"] == "INVALID_CONTEXT"


def test_finish__closes_per_conn_max_age_only_when_the_request_opened_the_connection(monkeypatch):
    # A plain function over a stand-in for django.db: what request_finished would do, only when it matters
    class Db:
        def __init__(self):
            self.connection = type("C", (), {"connection": None})()
            self.closed = 0

        def reset_queries(self):
            pass

        def close_old_connections(self):
            self.closed += 1

    fake = Db()
    monkeypatch.setattr(lean, "db", fake)
    lean._finish(None)  # a warm read: no connection at all
    assert fake.closed == 0
    fake.connection.connection = opened = object()
    lean._finish(None)  # this request opened it (a cold read, a token lookup)
    assert fake.closed == 1
    lean._finish(opened)  # already open before, checked less than a second ago
    assert fake.closed == 1
