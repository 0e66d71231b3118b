"""ApiErrorsMiddleware: an error answer on an API path is JSON whatever produced it; elsewhere it is left alone."""

import json

import pytest
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotAllowed
from django.test import RequestFactory

from core.http import ApiErrorsMiddleware, BodyRefused, parse_json


def error(response):
    return json.loads(response.content)["error"]


def answer(path, response):
    return ApiErrorsMiddleware(lambda request: response)(RequestFactory().post(path))


def test_csrf_failure_page_on_an_api__json_403_naming_csrf():
    response = answer(
        "/api/migrations/releases/", HttpResponseForbidden(b"<h1>Forbidden</h1> CSRF verification failed.")
    )
    assert response.status_code == 403 and "CSRF" in error(response)


def test_method_not_allowed_on_an_api__json_405_with_allow():
    response = answer("/api/deployments/", HttpResponseNotAllowed(["POST"]))
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert error(response) == "method POST not allowed: use POST"


def test_server_error_page_on_an_api__json_500():
    response = answer("/ofrep/v1/evaluate/flags", HttpResponse(b"<h1>Server Error</h1>", status=500))
    assert response["Content-Type"] == "application/json" and error(response) == "error 500"


def test_error_page_outside_the_apis__left_as_it_is():
    page = HttpResponse(b"<h1>Not Found</h1>", status=404)
    assert answer("/admin/nothing/", page) is page


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [(b"\xff", 400, "not UTF-8"), (b"{", 400, "not JSON"), (b"[" * 40 + b"]" * 40, 400, "deeper than 32"),
     (b'{"a": "\\u0000"}', 400, "NUL"), (b"[" * 100_000, 400, "deeper than 32")],
)  # fmt: skip
def test_parse_json__refused__status_and_problem_named(body, status, message):
    with pytest.raises(BodyRefused) as caught:
        parse_json(body)
    assert caught.value.status == status and message in caught.value.message


def test_parse_json__empty_or_fine__value():
    assert parse_json(b"", empty={}) == {}
    assert parse_json('{"é": [1, 2]}'.encode()) == {"é": [1, 2]}
