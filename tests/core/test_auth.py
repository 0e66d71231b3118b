"""One authentication module: tokens that act as their owner only, service accounts, expiry, and the issue's cases."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from core import auth, tokens
from core import caller as callers
from core.models import ApiToken, ServiceAccount
from environments.models import Environment
from tests.core.tokens import bearer, make_token, service_account


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _post_json(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def _ofrep(client, headers):
    return _post_json(client, "/ofrep/v1/evaluate/flags/reviews", {"context": {"environment": "staging"}}, **headers)


# --- The rules, as plain functions ----------------------------------------------------------------------------


def _info(**changes):
    return {"id": 1, "prefix": "ops_abcd", "name": "ci", "scopes": ["flags:read"], "environments": ["staging"],
            "owner_id": 1, "owner_active": True, "expires_at": timezone.now().timestamp() + 86400,
            "revoked": False} | changes  # fmt: skip


@pytest.mark.parametrize(
    ("info", "scope", "environment", "status", "word"),
    [
        (None, "flags:read", "staging", 401, "unknown"),
        (_info(revoked=True), "flags:read", "staging", 401, "revoked"),
        (_info(expires_at=0), "flags:read", "staging", 401, "expired"),
        (_info(owner_active=False), "flags:read", "staging", 403, "inactive"),
        (_info(), "flags:write", "staging", 403, "flags:write"),
        (_info(), "flags:read", "production", 403, "production"),
    ],
)
def test_check_token__each_problem__named_with_its_status(info, scope, environment, status, word):
    with pytest.raises(auth.AuthError) as refused:
        auth.check_token(info, scope=scope, environment=environment)
    assert (refused.value.status, word in refused.value.message) == (status, True)


def test_check_token__live_token_in_scope__passes_and_reads_accept_any_scope():
    auth.check_token(_info(), scope="flags:read", environment="staging")
    auth.check_token(_info(scopes=["migrations:write"]), scope=auth.READ, environment="staging")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, None), ({"HTTP_AUTHORIZATION": "Bearer abc"}, "abc"), ({"HTTP_AUTHORIZATION": "Bearer"}, ""),
     ({"HTTP_X_API_KEY": "abc"}, "abc"), ({"HTTP_AUTHORIZATION": "Basic abc"}, None)],
)  # fmt: skip
def test_raw_token__header_forms(headers, expected):
    assert auth.raw_token(RequestFactory().get("/", **headers)) == expected


def test_may_own_tokens_of__self_or_a_managed_service_account_never_another_person(db, make_user):
    # Given a manager of service accounts, another person, a modest service account and a mighty one
    manager = make_user("manager", "core.manage_service_accounts", "deployments.view_deployment")
    other = make_user("other")
    modest = service_account("modest", "deployments.view_deployment")
    mighty = service_account("mighty", "deployments.operate_deployment")
    # Then the manager may act as themselves and the modest account only
    assert tokens.may_own_tokens_of(manager, manager)
    assert tokens.may_own_tokens_of(manager, modest)
    assert not tokens.may_own_tokens_of(manager, other)
    assert not tokens.may_own_tokens_of(manager, mighty)  # would exceed the manager's own permissions
    # And a person without the permission may act for no service account
    assert not tokens.may_own_tokens_of(other, modest)


# --- The scenarios ----------------------------------------------------------------------------------------


def test_token_admin__login_without_flag_permission__cannot_make_a_token_writing_flags_as_the_superuser(
    auth_world, client, make_user, superuser
):
    # Given a login that may add tokens but has no flag permission at all
    mallory = make_user("mallory", "core.add_apitoken", "core.view_apitoken")
    client.force_login(mallory)
    staging = Environment.objects.get(key="staging")
    # When it asks the admin for a flags:write token owned by the superuser
    response = client.post(reverse("admin:core_apitoken_add"), {
        "name": "sneaky", "owner": superuser.pk, "scopes": ["flags:write"], "environments": [staging.pk],
        "expires_at_0": "2030-01-01", "expires_at_1": "00:00:00"})  # fmt: skip
    # Then the form refuses the owner and no token exists
    assert response.status_code == 200 and "owner" in response.context["form"].errors
    assert not ApiToken.objects.exists()
    # And the service refuses it too, whoever calls it
    with pytest.raises(tokens.TokenRefused):
        tokens.create_token(created_by=mallory, owner=superuser, name="x", scopes=["flags:write"],
                            environments=[staging])  # fmt: skip


def test_create_token__acting_as_another_person__refused_even_for_a_superuser(auth_world, make_user, superuser):
    alice = make_user("alice", "flags.change_flagstate")
    staging = Environment.objects.get(key="staging")
    with pytest.raises(tokens.TokenRefused, match="acts as its maker"):
        tokens.create_token(created_by=superuser, owner=alice, name="x", scopes=["flags:write"],
                            environments=[staging])  # fmt: skip
    assert not ApiToken.objects.exists()


def test_flags_patch__token_acts_as_its_owner__history_names_the_owner(auth_world, client, make_user):
    from flags.models import FlagState

    # Given carol's own staging write token
    carol = make_user("carol", "flags.change_flagstate", "flags.view_flag")
    raw = make_token(carol, environments=["staging"], scopes=["flags:write"])
    # When it turns a flag on
    response = client.patch("/api/flags/staging/reviews/", json.dumps({"enabled": True, "reason": "UAT"}),
                            content_type="application/json", **bearer(raw))  # fmt: skip
    # Then the change is carol's
    assert response.status_code == 200, response.content
    state = FlagState.objects.get(flag__key="reviews", environment__key="staging")
    assert state.history.latest("history_id").history_user == carol


def test_start_deployment__production_token_owner_without_operate_deployment__403_nothing_started(auth_world, client):
    from deployments.models import Deployment

    # Given a production deployments:write token whose owner may not operate deployments
    ci = service_account("ci", "deployments.view_deployment")
    raw = make_token(ci, environments=["production"], scopes=["deployments:write"])
    # When it starts a production deployment
    response = _post_json(client, "/api/deployments/", {"release": "v1.0", "environment": "production"},
                          **bearer(raw))  # fmt: skip
    # Then it is refused, naming the permission, and nothing starts
    assert response.status_code == 403 and "operate_deployment" in response.json()["error"]
    assert not Deployment.objects.filter(environment__key="production").exists()


def test_create_release__dev_token__refused_so_production_cannot_deploy_it(auth_world, client):
    from deployments.models import Release

    # Given a dev-only releases:write token whose owner may add releases
    ci = service_account("ci", "deployments.add_release")
    raw = make_token(ci, environments=["dev"], scopes=["releases:write"])
    # When it creates a release
    body = {"version": "v6.6.6", "ref": "v6.6.6", "ref_kind": "tag"}
    response = _post_json(client, "/api/deployments/releases/", body, **bearer(raw))
    # Then it is refused for production, and there is no release for production to deploy
    assert response.status_code == 403 and "production" in response.json()["error"]
    assert not Release.objects.filter(version="v6.6.6").exists()


def test_tested_locally__production_only_token__refused(auth_world, client):
    from migrations_log.models import Migration

    # Given a production-only migrations:write token whose owner may register migrations
    ci = service_account("ci", "migrations_log.add_migration")
    raw = make_token(ci, environments=["production"], scopes=["migrations:write"])
    # When it reports v1.0 tested locally
    response = _post_json(client, "/api/migrations/releases/v1.0/tested-locally/", {}, **bearer(raw))
    # Then it is refused: tested locally acts on the local environment
    assert response.status_code == 403 and "local" in response.json()["error"]
    assert not Migration.objects.filter(tested_locally_at__isnull=False).exists()


def test_migrations_api__staff_session_without_csrf_token_from_foreign_origin__403_nothing_registered(
    auth_world, make_user
):
    from migrations_log.models import Migration

    # Given a staff session that may register migrations, in a browser that enforces CSRF
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("dev", "migrations_log.add_migration"))
    # When a foreign page posts text/plain to the migrations API
    response = browser.post("/api/migrations/releases/", '{"version": "v2", "files": {"0001_a.sql": "SELECT 1;"}}',
                            content_type="text/plain", HTTP_ORIGIN="https://evil.example")  # fmt: skip
    # Then it is refused as JSON, and nothing is registered
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    assert not Migration.objects.exists()


def test_migrations_api__staff_session_with_csrf_token__gets_past_authentication(auth_world, make_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("dev", "migrations_log.view_migration", "migrations_log.add_migration"))
    browser.get(reverse("admin:index"))  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    response = browser.post("/api/migrations/releases/v1.0/tested-locally/", "{}", content_type="application/json",
                            HTTP_X_CSRFTOKEN=token)  # fmt: skip
    assert response.status_code not in (401, 403), response.content


def test_api__token_header__never_falls_back_to_the_session(auth_world, client, superuser):
    # Given a superuser's session
    client.force_login(superuser)
    # When a request carries an unknown token
    response = client.get("/api/migrations/releases/v1.0/", HTTP_AUTHORIZATION="Bearer ops_nope_x")
    # Then the token decides: 401, though the session alone would have been let in
    assert response.status_code == 401 and "unknown" in response.json()["error"]


def test_api__wrong_method__json_405(auth_world, client):
    response = client.get("/api/deployments/releases/")
    assert response.status_code == 405 and response.json()["error"].startswith("GET is not allowed")


# --- The lookup: cached, query-free when warm, last use throttled, bound as the caller --------------------------


def test_ofrep__warm_token__no_query_and_last_use_recorded_once(auth_world, client, django_assert_num_queries):
    # Given a read token used once (now cached, its last use written)
    raw = make_token(service_account("storefront"), environments=["staging"], scopes=["flags:read"])
    assert _ofrep(client, bearer(raw)).status_code == 200
    first_use = ApiToken.objects.get().last_used_at
    assert first_use is not None
    # When it is used again within the minute
    with django_assert_num_queries(0):
        assert _ofrep(client, bearer(raw)).status_code == 200
    # Then no query ran, and the last use was not rewritten
    assert ApiToken.objects.get().last_used_at == first_use


def test_ofrep__token_made_before_the_move__keeps_working(auth_world, client):
    # Given a token in the old flags format (its digest copied by the migration)
    raw = "ops_flags_0a0b0c0d_old-secret"
    ApiToken.objects.create(name="old", prefix="ops_flags_0a0b0c0d", digest=tokens.digest(raw),
                            owner=service_account("storefront"), scopes=["flags:read"])  # fmt: skip
    ApiToken.objects.get().environments.set(Environment.objects.filter(key="staging"))
    # Then it still reads flags
    assert _ofrep(client, bearer(raw)).status_code == 200


def test_authenticate__binds_the_owner_as_the_api_caller_with_the_token_prefix(auth_world):
    # Given a token and a view that reads who is acting
    owner = service_account("ci", "deployments.view_deployment")
    raw = make_token(owner, environments=["staging"], scopes=["deployments:write"])
    seen = {}

    @auth.api("GET")
    def view(request):
        auth.authenticate(request, scope="deployments:write", permissions=["deployments.view_deployment"])
        seen["caller"] = callers.current()
        return auth.Forbidden("done").response()

    # When the view runs
    view(RequestFactory().get("/api/x/", **bearer(raw)))
    # Then the caller was the owner via the API with the token's prefix, and it is unbound afterwards
    caller = seen["caller"]
    assert (caller.user, caller.via, caller.token) == (owner, "api", ApiToken.objects.get().prefix)
    assert callers.current() == callers.SYSTEM


# --- Admin: shown once, revoke behind permission, expiry warnings ------------------------------------------------


def test_token_admin__raw_value_shown_once_on_its_own_page_never_in_a_message(auth_world, client, make_user):
    # Given a person who may add tokens
    dana = make_user("dana", "core.add_apitoken", "core.view_apitoken")
    client.force_login(dana)
    staging = Environment.objects.get(key="staging")
    assert client.get(reverse("admin:core_apitoken_add")).status_code == 200
    # When she adds one for herself
    response = client.post(reverse("admin:core_apitoken_add"), {
        "name": "laptop", "owner": dana.pk, "scopes": ["flags:read"], "environments": [staging.pk],
        "expires_at_0": "2030-01-01", "expires_at_1": "00:00:00"})  # fmt: skip
    # Then the page itself shows it, not cached, with no message cookie
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    raw = response.context.get("raw") or pytest.fail(str(response.context["form"].errors))
    token = ApiToken.objects.get()
    assert raw in response.content.decode() and token.digest == tokens.digest(raw)
    assert (token.owner, token.created_by, token.scopes) == (dana, dana, ["flags:read"])
    assert "messages" not in response.cookies
    # And the list never shows it again
    listing = client.get(reverse("admin:core_apitoken_changelist")).content.decode()
    assert token.prefix in listing and raw not in listing
    detail = client.get(reverse("admin:core_apitoken_change", args=[token.pk]))
    assert detail.status_code == 200 and raw not in detail.content.decode()


def test_token_admin__revoke_needs_its_permission_and_takes_effect_on_the_next_request(
    auth_world, client, make_user, django_capture_on_commit_callbacks
):
    # Given a token in use (cached)
    raw = make_token(service_account("storefront"), environments=["staging"], scopes=["flags:read"])
    assert _ofrep(client, bearer(raw)).status_code == 200
    token = ApiToken.objects.get()
    admin = Client()
    # When someone without the revoke permission tries
    admin.force_login(make_user("viewer2", "core.view_apitoken", "core.change_apitoken"))
    admin.post(reverse("admin:core_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]})
    # Then the token lives
    assert ApiToken.objects.get().revoked_at is None
    # When someone with it revokes
    admin.force_login(make_user("ops", "core.view_apitoken", "core.change_apitoken", "core.revoke_apitoken"))
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("admin:core_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]})
    # Then the next request is refused as revoked
    response = _ofrep(client, bearer(raw))
    assert response.status_code == 401 and "revoked" in response.json()["errorDetails"]


def test_expiry__a_week_ahead__list_filter_dashboard_and_command_warn(auth_world, admin_client, capsys):
    # Given a token expiring in 3 days and one in 30
    owner = service_account("storefront")
    now = timezone.now()
    make_token(owner, environments=["staging"], name="soon", expires_at=now + timedelta(days=3))
    make_token(owner, environments=["staging"], name="later", expires_at=now + timedelta(days=30))
    soon = ApiToken.objects.get(name="soon")
    later = ApiToken.objects.get(name="later")
    # Then the "expires soon" filter lists the first only
    listing = admin_client.get(reverse("admin:core_apitoken_changelist") + "?expires=soon").content.decode()
    assert soon.prefix in listing and later.prefix not in listing
    # And the staging card says so
    index = admin_client.get(reverse("admin:index")).content.decode()
    staging_card = index.split('data-environment="staging"')[1].split("</article>")[0]
    assert "1 expire within a week" in staging_card
    # And the command lists it
    call_command("tokens", "--expiring")
    out = capsys.readouterr().out
    assert soon.prefix in out and later.prefix not in out


def test_create_token__default_expiry_is_90_days(auth_world, make_user):
    dana = make_user("dana", "core.add_apitoken")
    token, _ = tokens.create_token(created_by=dana, owner=dana, name="x", scopes=["flags:read"],
                                   environments=Environment.objects.filter(key="dev"))  # fmt: skip
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)


@pytest.mark.parametrize(
    ("changes", "word"),
    [({"scopes": []}, "scope"), ({"scopes": ["root"]}, "Unknown scope"), ({"environments": []}, "environments"),
     ({"expires_at": "past"}, "future"), ({"name": " "}, "Name")],
)  # fmt: skip
def test_create_token__bad_input__clear_message_nothing_made(auth_world, make_user, changes, word):
    dana = make_user("dana", "core.add_apitoken")
    values = {"name": "x", "scopes": ["flags:read"], "environments": Environment.objects.filter(key="dev")} | changes
    if values.get("expires_at") == "past":
        values["expires_at"] = timezone.now() - timedelta(days=1)
    with pytest.raises(tokens.TokenRefused, match=word):
        tokens.create_token(created_by=dana, owner=dana, **values)
    assert not ApiToken.objects.exists()


# --- Service accounts -------------------------------------------------------------------------------------------


def test_service_account_admin__only_its_managers_create_and_the_account_cannot_log_in(auth_world, client, make_user):
    from django.contrib.auth.models import Permission

    # Given a person without the permission
    client.force_login(make_user("eve", "core.view_serviceaccount"))
    assert client.get(reverse("admin:core_serviceaccount_add")).status_code == 403
    # When a manager creates one with a permission she holds
    manager = make_user("manager", "core.manage_service_accounts", "core.view_serviceaccount",
                        "deployments.view_deployment")  # fmt: skip
    client.force_login(manager)
    view = Permission.objects.get(codename="view_deployment")
    response = client.post(reverse("admin:core_serviceaccount_add"),
                           {"username": "ci", "description": "GitHub Actions", "permissions": [view.pk]})  # fmt: skip
    assert response.status_code == 302
    # Then it is a user with that permission, no usable password and no admin access
    user = get_user_model().objects.get(username="ci")
    assert ServiceAccount.objects.get().user == user and user.has_perm("deployments.view_deployment")
    assert not user.has_usable_password() and not user.is_staff
    assert not Client().login(username="ci", password="")
    page = client.get(reverse("admin:core_serviceaccount_change", args=[ServiceAccount.objects.get().pk]))
    assert page.status_code == 200 and "GitHub Actions" in page.content.decode()


def test_create_service_account__permission_its_creator_lacks__refused(auth_world, make_user):
    from django.contrib.auth.models import Permission

    manager = make_user("manager", "core.manage_service_accounts")
    operate = Permission.objects.get(codename="operate_deployment")
    with pytest.raises(tokens.TokenRefused, match="only permissions its creator holds"):
        tokens.create_service_account(created_by=manager, username="ci", permissions=[operate])
    assert not ServiceAccount.objects.exists()


def test_service_account__given_a_password_or_staff_elsewhere__stays_unable_to_log_in(auth_world):
    # Given a service account
    user = service_account("ci")
    # When someone edits its user to give it a password and the admin
    user.is_staff = user.is_superuser = True
    user.set_password("hunter2")
    user.save()
    # Then it still has neither
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser, user.has_usable_password()) == (False, False, False)
    assert not Client().login(username="ci", password="hunter2")


def test_warn_expiring_tokens__beat_job_logs_each_and_is_seeded_daily(auth_world, caplog):
    from django_celery_beat.models import PeriodicTask

    from core import seeds
    from core.seeding import SeedReport
    from core.tasks import warn_expiring_tokens

    # Given a token expiring in two days
    make_token(service_account("storefront"), environments=["staging"], expires_at=timezone.now() + timedelta(days=2))
    prefix = ApiToken.objects.get().prefix
    # When the job runs (in-process, as "run by hand" does)
    with caplog.at_level("WARNING", logger="amarise_ops.auth"):
        result = warn_expiring_tokens()
    # Then it is logged as a warning
    assert result == "1 API token(s) expire within a week" and prefix in caplog.text
    # And the seed schedules it daily
    seeds.seed(SeedReport())
    assert PeriodicTask.objects.get(name="API tokens: warn of expiry").task == "core.warn_expiring_tokens"


def test_api_decorator__database_error__json_503_not_a_500_page():
    from django.db import OperationalError

    @auth.api("GET")
    def view(request):
        raise OperationalError("connection refused")

    response = view(RequestFactory().get("/api/x/"))
    assert response.status_code == 503 and "database" in json.loads(response.content)["error"]
