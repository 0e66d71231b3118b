"""Bad input, everywhere: every API and hook, sent malformed JSON, deeply nested JSON, huge bodies, wrong
types, unknown environments and unicode, answers JSON (a 4xx naming the problem when it refuses), never a
500 or an HTML page, and a refusal writes nothing."""

import hashlib
import hmac
import json
from urllib.parse import quote

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client, override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.hardening.conftest import make_api_token

pytestmark = pytest.mark.django_db

HOOK_SECRET = "fuzz-hook-secret"  # noqa: S105 - a test value
ALERTMANAGER_TOKEN = "fuzz-alertmanager-token"  # noqa: S105 - a test value
WRITING_APPS = ["flags", "deployments", "migrations_log", "monitoring", "incidents", "delivery"]

FUZZ = settings(max_examples=25, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])  # fmt: skip

# --- what is sent ----------------------------------------------------------------------------------------

ODD_STRINGS = ["", "qa", "PRODUCTION", "staging\n", "prod\x00uction", "ü🚀\u202e", "../production", "x" * 5000,
               "production", "v2..0", "refs/heads/main\n", "@{", " "]  # fmt: skip
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars | st.sampled_from(ODD_STRINGS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)

MALFORMED = b'{"version": "v2.0", '
NOT_UTF8 = b'{"version": "\xff\xfe"}'
DEEP_LIST = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = (b'{"a":' * 40) + b"1" + (b"}" * 40)
HUGE = b'{"changelog": "' + b"x" * 3_000_000 + b'"}'
NUL = b'{"version": "v2\\u00000", "environment": "production\\u0000"}'
SPECIAL_BODIES = [MALFORMED, NOT_UTF8, DEEP_LIST, DEEP_OBJECT, HUGE, NUL, b"[]", b"null", b'"text"', b"12"]


def bodies(*keys):
    """Random bodies: bytes, JSON of any shape, and objects with the endpoint's keys holding any type."""
    shaped = st.fixed_dictionaries({}, optional={key: json_values for key in keys})
    return st.one_of(st.binary(max_size=40), json_values.map(json.dumps), shaped.map(json.dumps)).map(
        lambda b: b if isinstance(b, bytes) else b.encode()
    )


def with_special_bodies(test):
    for body in SPECIAL_BODIES:
        test = example(body=body)(test)
    return test


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Seeded once for the module, in a transaction rolled back at its end; a write token for every environment."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from core.seeding import seed_all
    from environments.models import Environment

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            seed_all()
            user = get_user_model().objects.create_superuser("fuzz", "fuzz@amarise.invalid", "pw-fuzz-1234")
            keys = list(Environment.objects.values_list("key", flat=True))
            yield {"token": make_api_token(user=user, environments=keys)}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def api(world):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {world['token']}")
    with override_settings(OPS_GIT_WEBHOOK_SECRET=HOOK_SECRET, OPS_MONITORING_WEBHOOK_TOKEN=ALERTMANAGER_TOKEN):
        yield client


# --- what is checked ----------------------------------------------------------------------------------------


def _row_counts_sql():
    tables = sorted({m._meta.db_table for label in WRITING_APPS for m in apps.get_app_config(label).get_models()})
    counts = ", ".join(f"(SELECT count(*) FROM {connection.ops.quote_name(t)})" for t in tables)  # noqa: S608
    return f"SELECT {counts}"  # noqa: S608 - table names from the models, quoted


def row_counts():
    with connection.cursor() as cursor:
        cursor.execute(_row_counts_sql())
        return cursor.fetchone()


def assert_json_answer(call):
    """Send; a refusal must be a JSON 4xx naming the problem with no row written, never a 500 or HTML."""
    before = row_counts()
    response = call()
    assert response.status_code < 500, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response.content[:300])
    body = response.json()
    if response.status_code >= 400:
        message = body.get("error") or body.get("errorDetails") if isinstance(body, dict) else None
        assert isinstance(message, str) and message, body
        assert row_counts() == before, f"{response.status_code} {message}: rows were written"
    return response


# --- flags API and OFREP --------------------------------------------------------------------------------------

environments = st.sampled_from(["production", "staging", "dev", "qa", "PRODUCTION", "x" * 300]) | st.text(max_size=12)


@FUZZ
@given(environment=environments)
def test_flags_document__unknown_or_odd_environment__json_answer(api, environment):
    assert_json_answer(lambda: api.get(f"/api/flags/{quote(environment, safe='')}/"))


@FUZZ
@with_special_bodies
@given(body=bodies("enabled", "reason"))
def test_flags_patch__bad_bodies__json_4xx_nothing_written(api, body):
    assert_json_answer(lambda: api.patch("/api/flags/staging/reviews/", body, content_type="application/json"))


@FUZZ
@with_special_bodies
@given(body=bodies("context"))
def test_ofrep__bad_bodies__json_answer(api, body):
    assert_json_answer(lambda: api.post("/ofrep/v1/evaluate/flags", body, content_type="application/json"))
    assert_json_answer(lambda: api.post("/ofrep/v1/evaluate/flags/reviews", body, content_type="application/json"))


# --- deployments API and the git hook --------------------------------------------------------------------------


@FUZZ
@with_special_bodies
@given(body=bodies("version", "ref", "ref_kind", "commit", "changelog"))
def test_deployments_create_release__bad_bodies__json_4xx_nothing_written(api, body):
    assert_json_answer(lambda: api.post("/api/deployments/releases/", body, content_type="application/json"))


@FUZZ
@with_special_bodies
@given(body=bodies("release", "environment"))
def test_deployments_start__bad_bodies__json_4xx_nothing_written(api, body):
    assert_json_answer(lambda: api.post("/api/deployments/", body, content_type="application/json"))
    assert_json_answer(lambda: api.post("/api/deployments/99999999/checklist/smoke/", body,
                                        content_type="application/json"))  # fmt: skip


@FUZZ
@with_special_bodies
@given(body=bodies("ref", "after", "deleted", "head_commit", "commits"))
def test_git_hook__signed_bad_bodies__json_4xx_nothing_written(api, body):
    signature = "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert_json_answer(lambda: api.post("/api/hooks/git/", body, content_type="application/json",
                                        HTTP_X_HUB_SIGNATURE_256=signature))  # fmt: skip


@FUZZ
@given(signature=st.text(max_size=80))
def test_git_hook__bad_signature_any_unicode__json_401(api, signature):
    response = assert_json_answer(
        lambda: api.post("/api/hooks/git/", b"{}", content_type="application/json",
                         HTTP_X_HUB_SIGNATURE_256=signature.encode("utf-8").decode("latin-1"))
    )  # fmt: skip
    assert response.status_code == 401


# --- migrations API ------------------------------------------------------------------------------------------------


@FUZZ
@with_special_bodies
@given(body=bodies("version", "files", "ref", "ref_kind"))
def test_migrations_register__bad_bodies__json_4xx_nothing_written(api, body):
    assert_json_answer(lambda: api.post("/api/migrations/releases/", body, content_type="application/json"))


@FUZZ
@with_special_bodies
@given(body=bodies("identifiers"))
def test_migrations_tested_locally__bad_bodies__json_4xx_nothing_written(api, body):
    for version in ("v1.0", "nope", "ü"):
        url = f"/api/migrations/releases/{quote(version)}/tested-locally/"
        assert_json_answer(lambda url=url: api.post(url, body, content_type="application/json"))


# --- delivery DORA API and the Alertmanager webhook ---------------------------------------------------------------


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["environment", "days"]),
        st.text(max_size=30) | st.sampled_from(["x" * 5000, "production\x00", "30\x00"]),
    )
)
def test_dora__odd_query__json_answer(api, params):
    assert_json_answer(lambda: api.get("/api/metrics/dora/", params))


@FUZZ
@with_special_bodies
@given(body=bodies("version", "alerts", "status", "groupLabels"))
def test_alertmanager_webhook__bad_bodies__json_4xx_nothing_written(api, body):
    assert_json_answer(lambda: api.post("/api/alerts/alertmanager/", body, content_type="application/json",
                                        HTTP_AUTHORIZATION=f"Bearer {ALERTMANAGER_TOKEN}"))  # fmt: skip


# --- wrong methods and unknown paths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("delete", "/api/flags/production/"), ("get", "/api/deployments/releases/"), ("put", "/api/hooks/git/"),
     ("get", "/api/alerts/alertmanager/"), ("post", "/api/metrics/dora/"), ("get", "/api/nothing-here/"),
     ("get", "/ofrep/v1/evaluate/flags")],
)  # fmt: skip
def test_wrong_method_or_path__json_4xx_naming_it(api, method, path):
    response = assert_json_answer(lambda: getattr(api, method)(path))
    assert response.status_code in (404, 405)


@pytest.mark.parametrize(
    "path",
    ["/api/deployments/99999999999999999999999/", "/api/deployments/0/", "/api/migrations/releases/%C3%BC%00/",
     "/api/migrations/releases/" + "x" * 3000 + "/", "/api/flags/production/%00/", "/ofrep/v1/evaluate/flags/%00"],
)  # fmt: skip
def test_odd_object_in_the_path__json_4xx(api, path):
    method = api.post if path.startswith("/ofrep/") else api.get
    response = assert_json_answer(lambda: method(path, b"{}", content_type="application/json")
                                  if method is api.post else method(path))  # fmt: skip
    assert 400 <= response.status_code < 500
