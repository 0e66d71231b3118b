"""Every API refuses what the others refuse: one table of endpoints × one table of bad callers.

Each refusal is a JSON 401/403 naming the problem, and nothing is written. The "allowed" row proves each
endpoint's good token gets past authentication, so the refusals are not refusals of everything.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.core.tokens import bearer, make_token, service_account


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: str
    body: dict | None
    scope: str | None  # None: a read, any scope will do
    environment: str | None  # the environment it acts on; None: not environment-bound
    permissions: tuple = ()
    written: object = field(default=None)  # () -> a snapshot of what a write would change


def _flag_writes():
    from flags.models import ChangeRequest, FlagState

    return (list(FlagState.objects.filter(enabled=True).values_list("pk", flat=True)), ChangeRequest.objects.count())


def _releases():
    from deployments.models import Deployment, Release

    return Release.objects.count(), Deployment.objects.count()


def _checklist():
    from deployments.models import DeploymentChecklistItem

    return DeploymentChecklistItem.objects.filter(checked_at__isnull=False).count()


def _migrations():
    from migrations_log.models import Migration

    return Migration.objects.count(), Migration.objects.filter(tested_locally_at__isnull=False).count()


def _nothing():
    return None


ENDPOINTS = [
    Endpoint("flags PATCH", "patch", "/api/flags/staging/reviews/", {"enabled": True}, "flags:write", "staging",
             ("flags.change_flagstate",), _flag_writes),
    Endpoint("OFREP", "post", "/ofrep/v1/evaluate/flags/reviews", {"context": {"environment": "staging"}},
             "flags:read", "staging", (), _nothing),
    Endpoint("create release", "post", "/api/deployments/releases/", {"version": "v9.9", "ref": "v9.9",
             "ref_kind": "tag"}, "releases:write", "production", ("deployments.add_release",), _releases),
    Endpoint("start deployment", "post", "/api/deployments/", {"release": "v1.0", "environment": "staging"},
             "deployments:write", "staging", ("deployments.operate_deployment",), _releases),
    Endpoint("deployment state", "get", "/api/deployments/{deployment}/", None, None, "staging",
             ("deployments.view_deployment",), _nothing),
    Endpoint("check item", "post", "/api/deployments/{deployment}/checklist/all_tests_passing/", {},
             "deployments:write", "staging", ("deployments.check_checklist",), _checklist),
    Endpoint("register migrations", "post", "/api/migrations/releases/", {"version": "v9.8",
             "files": {"0001_a.sql": "SELECT 1;"}}, "migrations:write", "production",
             ("migrations_log.add_migration",), _migrations),
    Endpoint("tested locally", "post", "/api/migrations/releases/v1.0/tested-locally/", {}, "migrations:write",
             "local", ("migrations_log.add_migration",), _migrations),
    Endpoint("migrations state", "get", "/api/migrations/releases/v1.0/", None, None, None,
             ("migrations_log.view_migration",), _nothing),
    Endpoint("DORA", "get", "/api/metrics/dora/?environment=staging&days=30", None, None, "staging",
             ("delivery.view_delivery_metrics",), _nothing),
]  # fmt: skip

ALL_ENVIRONMENTS = ["local", "dev", "staging", "production"]
ALL_SCOPES = ["flags:read", "flags:write", "deployments:write", "releases:write", "migrations:write"]
PAST = timedelta(days=1)


def _good(endpoint, owner, **overrides):
    """The endpoint's right token, with one thing changed."""
    values = {
        "environments": [endpoint.environment] if endpoint.environment else ALL_ENVIRONMENTS,
        "scopes": [endpoint.scope] if endpoint.scope else ["flags:read"],
    } | overrides
    return bearer(make_token(owner, **values))


def _other_environment(endpoint):
    return [key for key in ALL_ENVIRONMENTS if key != endpoint.environment][:1]


# (case, expected status, makes the headers from (endpoint, owner_with_perms, owner_without_perms), applies to)
CASES = [
    ("no token", 401, lambda e, ok, bare: {}, lambda e: True),
    ("empty token", 401, lambda e, ok, bare: {"HTTP_AUTHORIZATION": "Bearer "}, lambda e: True),
    ("unknown token", 401, lambda e, ok, bare: bearer("ops_nope_x"), lambda e: True),
    ("revoked", 401, lambda e, ok, bare: _good(e, ok, revoked_at=timezone.now()), lambda e: True),
    ("expired", 401, lambda e, ok, bare: _good(e, ok, expires_at=timezone.now() - PAST), lambda e: True),
    ("wrong scope", 403, lambda e, ok, bare: _good(e, ok, scopes=[s for s in ALL_SCOPES if s != e.scope]),
     lambda e: e.scope is not None),
    ("wrong environment", 403, lambda e, ok, bare: _good(e, ok, environments=_other_environment(e)),
     lambda e: e.environment is not None),
    ("owner lacks permission", 403, lambda e, ok, bare: _good(e, bare), lambda e: bool(e.permissions)),
]  # fmt: skip


@pytest.fixture(scope="module")
def module_owners(auth_world_module, django_db_blocker):
    """The owner with every endpoint's permissions and one with none; made once, inside the module's world."""
    every = {p for e in ENDPOINTS for p in e.permissions} | {"flags.view_flag"}
    with django_db_blocker.unblock():
        return service_account("ci-ok", *sorted(every)).pk, service_account("ci-bare").pk


@pytest.fixture
def owners(auth_world, module_owners):
    return tuple(get_user_model().objects.get(pk=pk) for pk in module_owners)


def _call(client, endpoint, auth_world, headers):
    url = endpoint.url.format(**auth_world)
    if endpoint.body is None:
        return getattr(client, endpoint.method)(url, **headers)
    return getattr(client, endpoint.method)(url, json.dumps(endpoint.body), content_type="application/json",
                                            **headers)  # fmt: skip


# Only the cells that exist: a read that takes any scope has no wrong scope, OFREP no permission to lack.
CELLS = [
    pytest.param(endpoint, case, status, headers, id=f"{case}-{endpoint.name}")
    for case, status, headers, applies in CASES
    for endpoint in ENDPOINTS
    if applies(endpoint)
]


@pytest.mark.parametrize(("endpoint", "case", "status", "headers"), CELLS)
def test_api__bad_caller__json_refusal_and_nothing_written(auth_world, owners, client, endpoint, case, status,
                                                           headers):  # fmt: skip
    # Given a caller who is wrong in exactly one way
    before = endpoint.written()
    # When it calls the endpoint
    response = _call(client, endpoint, auth_world, headers(endpoint, *owners))
    # Then it is refused with JSON naming a problem, and nothing changed
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body.get("error") or body.get("errorDetails")
    assert endpoint.written() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_api__right_token__gets_past_authentication(auth_world, owners, client, endpoint):
    # Given the endpoint's scope, environment and an owner with the permissions
    headers = _good(endpoint, owners[0])
    # When it calls
    response = _call(client, endpoint, auth_world, headers)
    # Then authentication lets it through (what happens next is the endpoint's business)
    assert response.status_code not in (401, 403), response.content


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_api__owner_deactivated_after_use__refused_on_the_next_request(
    auth_world, owners, client, endpoint, django_capture_on_commit_callbacks
):
    # Given a token that worked (and is cached)
    headers = _good(endpoint, owners[0])
    assert _call(client, endpoint, auth_world, headers).status_code not in (401, 403)
    before = endpoint.written()
    # When its owner is deactivated
    with django_capture_on_commit_callbacks(execute=True):
        get_user_model().objects.filter(pk=owners[0].pk).update(is_active=False)
        owners[0].refresh_from_db()
        owners[0].save()  # what the admin does: a save, whose signal drops the owner's cached tokens
    # Then the next call is refused
    response = _call(client, endpoint, auth_world, headers)
    assert response.status_code == 403 and "inactive" in response.json().get("error", "") + response.json().get(
        "errorDetails", ""
    )
    assert endpoint.written() == before
