"""Every admin action and object page behind its permission: a view-only login writes nothing, anywhere.

Generic over `admin.site._registry`, so an action added later without `permissions=[...]` fails here.
"Nothing written" is read from PostgreSQL's own counters of the test's transaction (pg_stat_xact_user_tables),
so it covers every table, whatever the action would have touched.
"""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(seeded_module, db):
    return seeded_module


# Actions that only read (an export), offered to whoever may view the rows.
READ_ONLY_ACTIONS = {("secrets_registry.AccessAudit", "export_csv")}


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def writes() -> int:
    """Rows inserted, updated or deleted so far in this transaction, sessions aside (a login writes its own)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables "
            "WHERE relname <> 'django_session'"
        )
        return cursor.fetchone()[0]


def write_actions():
    for model, model_admin in registered():
        for func, name, _ in model_admin._get_base_actions():
            if (model._meta.label, name) not in READ_ONLY_ACTIONS:
                yield model, model_admin, name, func


def test_writes_probe__sees_a_write():
    # The probe the tests below rely on: a write in this transaction moves it.
    before = writes()
    Group.objects.create(name="probe")
    assert writes() > before


def test_every_admin_action__declares_the_permissions_it_needs():
    # Given every action of every registered admin, the console's and third-party apps' alike
    missing = [f"{model._meta.label}.{name}" for model, _, name, func in write_actions()
               if not getattr(func, "allowed_permissions", None)]  # fmt: skip
    # Then each one names the permissions it needs
    assert missing == []


def test_every_write_action__view_only_login__not_offered_and_nothing_written(seeded, client, viewer):
    # Given a login that may view everything and change nothing
    client.force_login(viewer)
    request = RequestFactory().get("/")
    request.user = viewer
    offered, written = [], []
    for model, model_admin, name, _ in write_actions():
        # Then no write action is offered to it
        if name in model_admin.get_actions(request):
            offered.append(f"{model._meta.label}.{name}")
        # And posting one anyway, on the first rows there are, writes nothing
        pks = [str(pk) for pk in model._default_manager.values_list("pk", flat=True)[:3]]
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        before = writes()
        response = client.post(url, {"action": name, "_selected_action": pks or ["0"], "index": "0"})
        assert response.status_code in (200, 302, 403), (model, name, response.status_code)
        if writes() != before:
            written.append(f"{model._meta.label}.{name}")
    assert offered == []
    assert written == []


def test_every_object_page__view_only_login_posts__refused_and_nothing_written(seeded, client, viewer):
    client.force_login(viewer)
    written = []
    for model, _ in registered():
        obj = model._default_manager.first()
        if obj is None:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
        before = writes()
        response = client.post(url, {"_save": "Save"})
        assert response.status_code == 403, (model, response.status_code)
        if writes() != before:
            written.append(model._meta.label)
    assert written == []


def test_secret_pages__model_says_so__view_only_login_refused_list_and_object(seeded, client, viewer, superuser):
    # Given the models that say their pages are not for every viewer
    secret_models = [(m, a) for m, a in registered() if getattr(m, "admin_view_needs_one_of", None)]
    assert {m._meta.label for m, _ in secret_models} >= {"secrets_registry.SecretReference"}
    from secrets_registry.models import ServiceAccount

    account = ServiceAccount.objects.create(name="storefront")
    for model, _ in secret_models:
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        obj = model._default_manager.first() or account
        change = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
        # When a view-only login opens the list and an object
        client.force_login(viewer)
        # Then both are refused
        assert client.get(changelist).status_code == 403, model
        assert client.get(change).status_code == 403, model
        # While a login that may change them sees them
        client.force_login(superuser)
        assert client.get(changelist).status_code == 200, model


# --- The admin's own pages that write (flips, starts, acts): every one refuses a view-only login ----------------

STANDARD_VIEWS = {"changelist", "add", "history", "delete", "change", "autocomplete", "import", "process_import",
                  "export"}  # fmt: skip
# What each kind of URL argument is filled with; every value is tried.
ARGUMENTS = {
    "key": ["production", "staging"],
    "kind": ["staging_refresh", "dev_reset"],
    "action": ["continue", "rollback", "abort", "confirm"],
    "status": ["mitigated", "resolved", "closed"],
}
# What the forms post: every write such a page can do, at once.
PAYLOADS = [
    {"action": action, "confirm": "1", "reason": "viewer was here", "note": "x", "confirmation": "production",
     "target_time": "2030-01-01T00:00:00", "repo": "1", "reference": "1", "type": "full"}
    for action in ("full", "incr", "check", "verify", "drill", "rotate_due", "rotate", "mark_rotated", "expire")
]  # fmt: skip


def _custom_write_urls(model, model_admin):
    prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
    for pattern in model_admin.get_urls():
        name = getattr(pattern, "name", None)
        if name and name.removeprefix(prefix) not in STANDARD_VIEWS:
            yield name, list(pattern.pattern.converters)


def _fill(model, names):
    """Every combination of plausible arguments: first rows of the model (and of flag cells), known keys."""
    first = model._default_manager.values_list("pk", flat=True).first() or 1
    from flags.models import FlagState

    ints = {"state_id": FlagState.objects.values_list("pk", flat=True).first() or 1,
            "history_id": FlagState.history.values_list("history_id", flat=True).first() or 1}  # fmt: skip
    combos = [{}]
    for name in names:
        values = ARGUMENTS.get(name) or [ints.get(name, first)]
        combos = [{**c, name: v} for c in combos for v in values]
    return combos


def _urls(model, name, arguments):
    if name.endswith("_simple_history"):  # the revert form: positional object id and history id
        obj = model._default_manager.first()
        record = obj.history.first() if obj is not None else None
        return [reverse(f"admin:{name}", args=[obj.pk, record.history_id])] if record else []
    return [reverse(f"admin:{name}", kwargs=kwargs) for kwargs in _fill(model, arguments)]


def test_every_custom_admin_page__view_only_login_posts__nothing_written(seeded, client, viewer):
    # Given a view-only login, and every page the admin adds beside the standard ones (flips, starts, acts, reverts)
    client.force_login(viewer)
    written = []
    for model, model_admin in registered():
        for name, arguments in _custom_write_urls(model, model_admin):
            # When it posts every write those pages know, on the first rows there are
            for url in _urls(model, name, arguments):
                # (only the pages named *_act read an action from the form; the others take the first payload)
                for payload in PAYLOADS if name.endswith("_act") else PAYLOADS[:1]:
                    before = writes()
                    client.post(url, payload)
                    if writes() != before:
                        written.append(f"{url} {payload['action']}")
    # Then nothing was written
    assert written == []
