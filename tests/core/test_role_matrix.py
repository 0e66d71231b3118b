"""The permission matrix by role: every write path of the console, for a member of each seeded role and for nobody.

The expectation is core/roles.py's table and nothing else: a role may do a write iff its group holds every
permission the write needs. Each cell is checked against the code (offered or refused), and a refusal is checked
to write nothing, read from PostgreSQL's per-transaction counters (see test_admin_permissions).
Seeded once for the module, in-process: one test per role, each walking every write path.
"""

import json
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_permission_codename, get_user_model
from django.contrib.auth.models import AnonymousUser, Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse

from core import roles
from tests.core.test_admin_permissions import write_actions, writes
from tests.core.tokens import bearer, make_token

pytestmark = pytest.mark.django_db

ANONYMOUS = "Anonymous"
CALLERS = [*roles.ROLES, ANONYMOUS]
ALL_ENVIRONMENTS = ["local", "dev", "staging", "production"]
ALL_SCOPES = ["flags:read", "flags:write", "deployments:write", "releases:write", "migrations:write"]

# What an admin action's custom permission name means, per app: the Django permission its has_<name>_permission asks.
CUSTOM_ADMIN_PERMISSIONS = {
    ("flags", "flag_values"): ("flags.change_flagstate",),
    ("core", "revoke"): ("core.revoke_apitoken",),
    ("deployments", "operate"): ("deployments.operate_deployment",),
    ("migrations_log", "reverse"): ("migrations_log.add_reversemigration",),
    ("migrations_log", "acknowledge"): ("migrations_log.acknowledge_lint_finding",),
    ("migrations_log", "verify"): ("migrations_log.verify_migration_run",),
    ("monitoring", "operate"): ("monitoring.operate_alert",),
    ("secrets_registry", "check"): ("secrets_registry.check_secrets",),
    ("secrets_registry", "rotate"): ("secrets_registry.rotate_secrets",),
    ("secrets_registry", "approve"): ("secrets_registry.approve_production_rotation",),
    ("retention", "run_prune"): ("retention.run_prune",),
}
DEFAULT_ADMIN_PERMISSIONS = {"add", "change", "delete", "view"}


def needs_of_action(model, func) -> tuple[str, ...]:
    opts, found = model._meta, []
    for name in func.allowed_permissions:
        if name in DEFAULT_ADMIN_PERMISSIONS:
            found.append(f"{opts.app_label}.{get_permission_codename(name, opts)}")
        else:
            found.extend(CUSTOM_ADMIN_PERMISSIONS[(opts.app_label, name)])
    return tuple(found)


def expected(caller, needs) -> bool:
    """The table's answer: the role's group holds every permission the write needs; nobody may do anything."""
    return caller != ANONYMOUS and set(needs) <= roles.role_permissions(caller)


@dataclass(frozen=True)
class Import:
    model: str  # "app_label.model_name"
    needs: tuple[str, ...]
    upload: bytes


IMPORTS = [
    # A flag file edits flags and sets their values outside production.
    Import("flags.flag", ("flags.change_flag", "flags.change_flagstate"),
           b"key,category,kind\nmatrix-probe,ops,release\n"),
    # A masking-rule file adds and changes rules.
    Import("refreshes.maskingrule", ("refreshes.add_maskingrule", "refreshes.change_maskingrule"),
           b"table,column,strategy\nauth_user,email,fake_email\n"),
]  # fmt: skip


@dataclass(frozen=True)
class Api:
    name: str
    url: str
    body: dict
    needs: tuple[str, ...]
    method: str = "post"


APIS = [
    Api("flags PATCH staging", "/api/flags/staging/reviews/", {"enabled": True}, ("flags.change_flagstate",), "patch"),
    Api("flags PATCH production", "/api/flags/production/reviews/", {"enabled": True},
        ("flags.change_flagstate", "flags.change_production_flags"), "patch"),
    Api("create release", "/api/deployments/releases/", {"version": "v9.9", "ref": "v9.9", "ref_kind": "tag"},
        ("deployments.add_release",)),
    Api("start deployment staging", "/api/deployments/", {"release": "v1.0", "environment": "staging"},
        ("deployments.operate_deployment",)),
    # Under four-eyes a production start is a request a second person approves: the table grants it with operate.
    Api("request deployment production", "/api/deployments/", {"release": "v1.0", "environment": "production"},
        ("deployments.operate_deployment",)),
    Api("check item", "/api/deployments/{deployment}/checklist/all_tests_passing/", {},
        ("deployments.check_checklist",)),
    Api("register migrations", "/api/migrations/releases/", {"version": "v9.8", "files": {"0001_a.sql": "SELECT 1;"}},
        ("migrations_log.add_migration",)),
    Api("tested locally", "/api/migrations/releases/v1.0/tested-locally/", {}, ("migrations_log.add_migration",)),
]  # fmt: skip


@pytest.fixture(scope="module")
def world_module(django_db_setup, django_db_blocker):
    """Seeded once (groups from the table), one staff member per role with a token of every scope and environment,
    a release v1.0 and a staging deployment; rolled back at the module's end."""
    from django.db import transaction

    from core.seeding import seed_all
    from deployments.models import Deployment, Release
    from environments.models import Environment

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            seed_all()
            members, token_of = {}, {}
            for role in roles.ROLES:
                user = get_user_model().objects.create(username=role.lower().replace(" ", "-"), is_staff=True)
                user.groups.add(Group.objects.get(name=role))
                members[role] = user.pk
                token_of[role] = make_token(user, environments=ALL_ENVIRONMENTS, scopes=ALL_SCOPES, name="matrix")
            release = Release.objects.get_or_create(version="v1.0", defaults={"ref": "v1.0", "ref_kind": "tag"})[0]
            deployment = Deployment.objects.create(
                release=release, environment=Environment.objects.get(key="staging"), strategy="rolling"
            )
            yield {"members": members, "tokens": token_of, "deployment": deployment.pk}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def world(world_module, db):
    return world_module


def _login(client, world, caller):
    if caller == ANONYMOUS:
        return AnonymousUser()
    user = get_user_model().objects.get(pk=world["members"][caller])
    client.force_login(user)
    return user


def test_table__every_custom_admin_permission_is_named_here():
    # Given every write action: its permissions are either Django's own or named in CUSTOM_ADMIN_PERMISSIONS
    unnamed = [f"{model._meta.label}.{name}" for model, _, name, func in write_actions()
               for p in func.allowed_permissions if p not in DEFAULT_ADMIN_PERMISSIONS
               and (model._meta.app_label, p) not in CUSTOM_ADMIN_PERMISSIONS]  # fmt: skip
    # Then the matrix knows what each one needs
    assert unnamed == []


def test_table__every_role_but_the_viewer_is_allowed_something__every_role_refused_something():
    # The matrix below proves nothing if every cell says the same thing.
    for role in roles.ROLES:
        cells = [expected(role, needs_of_action(model, func)) for model, _, _, func in write_actions()]
        cells += [expected(role, entry.needs) for entry in [*IMPORTS, *APIS]]
        assert False in cells, role
        assert (True in cells) == (role != "Viewer"), role


@pytest.mark.parametrize("caller", CALLERS)
def test_admin_actions__role__offered_iff_the_table_grants_and_refusals_write_nothing(world, client, caller):
    # Given a member of the role (or nobody), logged in to the admin
    user = _login(client, world, caller)
    request = RequestFactory().get("/")
    request.user = user
    wrong, written = [], []
    for model, model_admin, name, func in write_actions():
        want = expected(caller, needs_of_action(model, func))
        # When the admin lists the model's actions
        offered = name in model_admin.get_actions(request)
        # Then the action is offered exactly when the table grants its permissions
        if offered != want:
            wrong.append(f"{model._meta.label}.{name}: offered={offered}, table={want}")
        if want:
            continue
        # And posting a refused action anyway, on the first rows there are, writes nothing
        pks = [str(pk) for pk in model._default_manager.values_list("pk", flat=True)[:3]]
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        before = writes()
        client.post(url, {"action": name, "_selected_action": pks or ["0"], "index": "0"})
        if writes() != before:
            written.append(f"{model._meta.label}.{name}")
    assert wrong == []
    assert written == []


# The flags table's one-click flip, an admin page of its own (not an action), per environment.
FLIPS = [("staging", ("flags.change_flagstate",)),
         ("production", ("flags.change_flagstate", "flags.change_production_flags"))]  # fmt: skip


@pytest.mark.parametrize("caller", CALLERS)
def test_flag_flips__role__allowed_iff_the_table_grants_and_refusals_403_writing_nothing(world, client, caller):
    from flags.models import FlagState

    _login(client, world, caller)
    wrong, written = [], []
    for environment, needs in FLIPS:
        want = expected(caller, needs)
        cell = FlagState.objects.get(flag__key="reviews", environment__key=environment)
        before = writes()
        # When the role posts the flip of `reviews` there
        response = client.post(reverse("admin:flags_flag_toggle", args=[cell.pk]))
        # Then it is done (or filed as a change request in production) exactly when the table grants it; a login
        # that is refused gets 403 and nothing written (nobody at all is sent to the login page)
        refused = response.status_code == 403 or (caller == ANONYMOUS and response.status_code == 302)
        if refused == want:
            wrong.append(f"{environment}: {response.status_code}, table={want}")
        if refused and writes() != before:
            written.append(environment)
    assert wrong == []
    assert written == []


@pytest.mark.parametrize("caller", CALLERS)
def test_imports__role__import_page_iff_the_table_grants_and_refused_uploads_write_nothing(world, client, caller):
    _login(client, world, caller)
    wrong, written = [], []
    for entry in IMPORTS:
        app_label, model_name = entry.model.split(".")
        url = reverse(f"admin:{app_label}_{model_name}_import")
        want = expected(caller, entry.needs)
        # When the role opens the import page
        opened = client.get(url).status_code == 200
        # Then it opens exactly when the table grants the import's permissions
        if opened != want:
            wrong.append(f"{entry.model}: opened={opened}, table={want}")
        if want:
            continue
        # And a file posted anyway writes nothing
        before = writes()
        for target in (url, reverse(f"admin:{app_label}_{model_name}_process_import")):
            upload = SimpleUploadedFile(f"{model_name}.csv", entry.upload, content_type="text/csv")
            client.post(target, {"format": "0", "import_file": upload, "input_format": "0"})
        if writes() != before:
            written.append(entry.model)
    assert wrong == []
    assert written == []


@pytest.mark.parametrize("caller", CALLERS)
def test_apis__token_of_a_role_member__allowed_iff_the_table_grants_and_refusals_write_nothing(world, client, caller):
    # Given the role member's token with every scope and environment (so only the owner's role decides), or none
    headers = {} if caller == ANONYMOUS else bearer(world["tokens"][caller])
    # (a token's first use in the minute records its last use, refused or not: bookkeeping, done before counting)
    client.get("/api/migrations/releases/v1.0/", **headers)
    wrong, written = [], []
    for api in APIS:
        want = expected(caller, api.needs)
        before = writes()
        # When it calls the API
        response = getattr(client, api.method)(api.url.format(**world), json.dumps(api.body),
                                               content_type="application/json", **headers)  # fmt: skip
        # Then it gets past the permission checks exactly when the table grants them (what follows is the API's
        # business: a 409 for a release not yet in staging is still "allowed")
        allowed = response.status_code not in (401, 403)
        if allowed != want:
            wrong.append(f"{api.name}: {response.status_code} {response.content[:120]!r}, table={want}")
        # And a refusal wrote nothing
        if not allowed and writes() != before:
            written.append(api.name)
    assert wrong == []
    assert written == []
