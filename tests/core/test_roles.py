"""Roles are written once in core/roles.py: seeded as groups, shown as a matrix, printed in the README."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.urls import reverse

from core import roles
from core.management.commands.roles_matrix import readme_matrix, readme_path
from core.seeding import RoleTableError, SeedReport, _merge_permissions, permissions_by_name, seed_groups


def _held(name):
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def _permission(name):
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


# --- The table, as plain rules ------------------------------------------------------------------


def test_viewer__reads_everything_but_secrets_and_writes_nothing():
    viewer = roles.role_permissions("Viewer")
    assert "flags.view_flag" in viewer and "deployments.view_deployment" in viewer
    assert "delivery.view_delivery_metrics" in viewer  # a custom view permission counts as reading
    assert not any(p.startswith(("secrets_registry.", "sessions.")) for p in viewer)
    assert all(p.split(".")[1].startswith("view_") for p in viewer)


def test_engineer__dev_and_staging_only__no_production_permission_and_no_approval():
    engineer = roles.role_permissions("Engineer")
    assert {"flags.change_flagstate", "deployments.operate_deployment", "refreshes.change_refreshrun",
            "backups.change_protecteddatabase", "incidents.operate_incident"} <= engineer  # fmt: skip
    assert not engineer & {"flags.change_production_flags", "deployments.deploy_production",
                           "deployments.approve_deployment"}  # fmt: skip


def test_release_manager__production_and_approvals__no_policies_or_users():
    manager = roles.role_permissions("Release manager")
    assert {"flags.change_production_flags", "deployments.deploy_production",
            "deployments.approve_deployment"} <= manager  # fmt: skip
    assert not manager & {"deployments.change_deploymentpolicy", "auth.change_user", "refreshes.change_maskingrule"}


def test_ops_admin__policies_targets_masking_tokens_users__not_production():
    admin = roles.role_permissions("Ops admin")
    assert {"deployments.change_deploymentpolicy", "migrations_log.change_migrationtarget",
            "refreshes.change_maskingrule", "core.add_apitoken", "core.manage_service_accounts",
            "auth.change_user"} <= admin  # fmt: skip
    assert not admin & {"flags.change_production_flags", "deployments.deploy_production"}


def test_merge__table_gains_and_drops__operator_edits_kept():
    # Given the seed last wrote {a, b}, an operator removed b and added x, and the table now says {a, b, c}
    add, remove, seeded, kept = _merge_permissions(wanted={"a", "b", "c"}, current={"a", "x"}, seeded={"a", "b"})
    # Then c is added, b stays removed, x stays granted
    assert (add, remove, kept) == ({"c"}, set(), ["b", "x"])
    # And when the table drops a, the seed removes it
    add, remove, _, _ = _merge_permissions(wanted={"b"}, current={"a", "b"}, seeded={"a", "b"})
    assert (add, remove) == (set(), {"a"})


# --- Seeded groups --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed__each_role_group_holds_exactly_its_table_permissions(seeded):
    # Given a fresh seed (seed_strategy runs every app's seed, then the groups)
    assert "group Viewer" in seeded.created
    # Then each group holds the table's permissions, no more and no fewer
    for role in roles.ROLES:
        assert _held(role) == roles.role_permissions(role), role


@pytest.mark.django_db
def test_seed__twice__changes_nothing():
    seed_groups(SeedReport())
    report = SeedReport()
    seed_groups(report)
    assert not report.changed and not report.kept


@pytest.mark.django_db
def test_seed__hand_edited_group__edit_kept_and_reported():
    seed_groups(SeedReport())
    group = Group.objects.get(name="Viewer")
    group.permissions.add(_permission("flags.change_flagstate"))

    report = SeedReport()
    seed_groups(report)

    assert "flags.change_flagstate" in _held("Viewer")
    assert report.kept == ["group Viewer: flags.change_flagstate"]


@pytest.mark.django_db
def test_seed__group_an_operator_deleted__stays_deleted():
    seed_groups(SeedReport())
    Group.objects.filter(name="Viewer").delete()
    report = SeedReport()
    seed_groups(report)
    assert "group Viewer: deleted" in report.kept and not Group.objects.filter(name="Viewer").exists()


@pytest.mark.django_db
def test_seed__unknown_permission_in_table__refused_naming_it_nothing_seeded(monkeypatch):
    monkeypatch.setitem(roles.ROLES, "Viewer", ("read", "typo"))
    monkeypatch.setattr(roles, "action", lambda key: roles.Action(key, key, ("flags.fly_flag",)))
    with pytest.raises(RoleTableError, match="flags.fly_flag"):
        seed_groups(SeedReport())
    assert not Group.objects.exists()


@pytest.mark.django_db
def test_table__every_permission_exists():
    names = set().union(*(roles.role_permissions(r) for r in roles.ROLES))
    assert len(permissions_by_name(names)) == len(names)


# --- The matrix page --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_matrix_page__shows_role_by_action_and_marks_a_hand_edited_group(client, viewer):
    # Given the seeded groups, and an operator who gave the Viewer group a write permission by hand
    seed_groups(SeedReport())
    Group.objects.get(name="Viewer").permissions.add(_permission("refreshes.change_maskingrule"))
    client.force_login(viewer)

    # When the viewer opens the roles page from the admin's home page
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:roles") in index
    body = client.get(reverse("admin:roles")).content.decode()

    # Then each role's column and each action's row is there, from the table
    for role in roles.ROLES:
        assert f'data-role="{role}"' in body
    row = body.split('data-action="approvals"')[1].split("</tr>")[0]
    assert row.count('data-state="all"') == 1  # only the release manager approves
    # And the edited group's drift is marked, naming the permission
    masking = body.split('data-action="masking"')[1].split("</tr>")[0]
    assert 'data-drift="1"' in masking and "added by hand: refreshes.change_maskingrule" in masking
    assert 'data-drift-role="Viewer"' in body and 'data-drift-role="Engineer"' not in body


@pytest.mark.django_db
def test_matrix_page__without_view_group__forbidden(client, make_user):
    client.force_login(make_user("nobody"))
    assert client.get(reverse("admin:roles")).status_code == 403


@pytest.mark.django_db
def test_matrix_page__group_missing__shown_as_drift(admin_client):
    body = admin_client.get(reverse("admin:roles")).content.decode()
    assert "(no group)" in body and 'id="roles-drift"' in body


# --- The README ----------------------------------------------------------------------------------------


def test_readme__matrix_is_generated_from_the_table():
    assert readme_matrix(readme_path().read_text()) == roles.markdown_matrix()


def test_roles_matrix_command__prints_the_matrix(capsys):
    call_command("roles_matrix")
    assert capsys.readouterr().out == roles.markdown_matrix()
