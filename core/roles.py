"""The roles, written once: each role is a list of actions, each action a label and the permissions it needs.

`seed_strategy` makes one group per role holding exactly these permissions (core.seeding.seed_groups); the
admin's roles page and the README's matrix are generated from this table, so neither can drift from it.
Permissions are named "app_label.codename" as in `user.has_perm`, and core imports no app to name them.
"""

from dataclasses import dataclass
from functools import cache

from django.apps import apps

# Never readable by the Viewer: where secrets live and whom they reach, and sessions (their keys log people in).
UNREADABLE_APPS = frozenset({"secrets_registry", "sessions"})


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    permissions: tuple[str, ...]
    # How the README names the permissions when listing them one by one would not help.
    summary: str = ""


@cache
def read_permissions() -> tuple[str, ...]:
    """Every model's view permission, and custom view_* ones, outside UNREADABLE_APPS."""
    found = set()
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label in UNREADABLE_APPS:
            continue
        if "view" in meta.default_permissions:
            found.add(f"{meta.app_label}.view_{meta.model_name}")
        found.update(f"{meta.app_label}.{codename}" for codename, _ in meta.permissions if codename.startswith("view_"))
    return tuple(sorted(found))


# Tokens and service accounts: core.ApiToken, and the service accounts whose tokens their makers manage.
TOKEN_PERMISSIONS = ("core.add_apitoken", "core.revoke_apitoken")
SERVICE_ACCOUNT_PERMISSIONS = ("core.manage_service_accounts",)


@cache
def actions() -> tuple[Action, ...]:
    """The rows of the matrix, in the order shown."""
    return (
        Action(
            "read",
            "Read everything but secrets",
            read_permissions(),
            summary="every view_* permission, except secrets_registry and sessions",
        ),
        Action(
            "flags",
            "Change dev and staging flags, create flags, schedule changes",
            (
                "flags.add_flag",
                "flags.change_flag",
                "flags.change_flagstate",
                "flags.add_scheduledchange",
                "flags.change_scheduledchange",
            ),
        ),  # fmt: skip
        Action(
            "production_flags",
            "Change production flags (a change request) and approve others' requests",
            ("flags.change_flagstate", "flags.change_production_flags"),
        ),
        Action(
            "deployments",
            "Create releases, deploy to dev and staging, request production deployments",
            ("deployments.add_release", "deployments.operate_deployment", "deployments.check_checklist"),
        ),
        Action(
            "migrations",
            "Register migrations, verify staging runs, acknowledge lint warnings",
            (
                "migrations_log.add_migration",
                "migrations_log.verify_migration_run",
                "migrations_log.acknowledge_lint_finding",
            ),
        ),  # fmt: skip
        Action(
            "production_deployments",
            "Start, continue, roll back and abort production deployments",
            (
                "deployments.add_release",
                "deployments.operate_deployment",
                "deployments.deploy_production",
                "deployments.check_checklist",
            ),
        ),  # fmt: skip
        Action(
            "approvals",
            "Approve another person's production deployment",
            ("deployments.approve_deployment",),
        ),
        Action("refreshes", "Start, cancel and resume data refreshes", ("refreshes.change_refreshrun",)),
        Action(
            "drills",
            "Run backups, verifications and restore drills (restores share this permission)",
            ("backups.change_protecteddatabase",),
        ),
        Action(
            "incidents",
            "Declare and run incidents, acknowledge and silence alerts",
            (
                "incidents.add_incident",
                "incidents.change_incident",
                "incidents.operate_incident",
                "incidents.add_timelineentry",
                "incidents.add_actionitem",
                "incidents.change_actionitem",
                "monitoring.operate_alert",
            ),
        ),  # fmt: skip
        Action(
            "policies",
            "Edit policies: deployment (four-eyes too), slots (mark the live one once), backup, severity, thresholds, "
            "environments",
            (
                "deployments.change_deploymentpolicy",
                "deployments.add_slot",
                "deployments.change_slot",
                "deployments.add_trafficstep",
                "deployments.change_trafficstep",
                "deployments.delete_trafficstep",
                "deployments.add_rollbacktrigger",
                "deployments.change_rollbacktrigger",
                "deployments.delete_rollbacktrigger",
                "deployments.add_smokecheck",
                "deployments.change_smokecheck",
                "deployments.delete_smokecheck",
                "deployments.change_checklistitem",
                "deployments.add_syntheticjourney",
                "deployments.change_syntheticjourney",
                "deployments.delete_syntheticjourney",
                "deployments.add_journeystep",
                "deployments.change_journeystep",
                "deployments.delete_journeystep",
                "backups.change_backuppolicy",
                "backups.change_servicetier",
                "incidents.change_severitypolicy",
                "monitoring.change_threshold",
                "environments.change_environment",
                "environments.change_requiredvariable",
                "retention.change_retentionpolicy",
                "retention.run_prune",
            ),
        ),  # fmt: skip
        Action(
            "contacts",
            "Say who is told of incidents and alerts: stakeholders and on-call addresses",
            (
                "incidents.add_contact",
                "incidents.change_contact",
                "incidents.delete_contact",
                "monitoring.change_oncall",
            ),
        ),  # fmt: skip
        Action(
            "targets",
            "Edit migration, refresh and scrape targets",
            (
                "migrations_log.add_migrationtarget",
                "migrations_log.change_migrationtarget",
                "refreshes.add_datatarget",
                "refreshes.change_datatarget",
                "monitoring.add_scrapetarget",
                "monitoring.change_scrapetarget",
            ),
        ),  # fmt: skip
        Action(
            "masking",
            "Edit masking rules",
            ("refreshes.add_maskingrule", "refreshes.change_maskingrule", "refreshes.delete_maskingrule"),
        ),
        Action("tokens", "Make and revoke API tokens", TOKEN_PERMISSIONS),
        Action("service_accounts", "Manage service accounts", SERVICE_ACCOUNT_PERMISSIONS),
        Action("users", "Add people and give them roles", ("auth.add_user", "auth.change_user")),
    )


# Role → the keys of its actions. A role's group holds the union of their permissions, nothing else.
ROLES = {
    "Viewer": ("read",),
    "Engineer": ("read", "flags", "deployments", "migrations", "refreshes", "drills", "incidents"),
    "Release manager": ("read", "production_flags", "production_deployments", "approvals"),
    "Ops admin": ("read", "policies", "contacts", "targets", "masking", "tokens", "service_accounts", "users"),
}


def action(key) -> Action:
    return next(a for a in actions() if a.key == key)


def role_permissions(role) -> frozenset[str]:
    return frozenset(p for key in ROLES[role] for p in action(key).permissions)


def markdown_matrix() -> str:
    """The README's matrix: role × action as the table grants it, then what each action needs."""
    columns, rows = matrix(held={role: role_permissions(role) for role in ROLES})
    lines = ["| Action | " + " | ".join(c.role for c in columns) + " |", "|---|" + "---|" * len(columns)]
    for row, cells in rows:
        lines.append(f"| {row.label} | " + " | ".join(cell.text for cell in cells) + " |")
    lines += ["", "| Action | Permissions |", "|---|---|"]
    for row, _ in rows:
        needs = row.summary or ", ".join(f"`{p}`" for p in row.permissions)
        lines.append(f"| {row.label} | {needs} |")
    return "\n".join(lines) + "\n"


# --- The matrix as the database has it -----------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    held: tuple[str, ...]  # the action's permissions the group holds
    total: int
    missing: tuple[str, ...]  # of this action, granted by the table and not held
    extra: tuple[str, ...]  # of this action, held beyond everything the role is granted

    @property
    def state(self):
        return "all" if len(self.held) == self.total else ("none" if not self.held else "partial")

    @property
    def text(self):
        """✓ when the role can do it all; a role that holds part of an action (through another) shows how much."""
        return {"all": "✓", "none": ""}.get(self.state, f"{len(self.held)} of {self.total}")

    @property
    def drift(self):
        return bool(self.missing or self.extra)


@dataclass(frozen=True)
class Column:
    role: str
    exists: bool
    missing: tuple[str, ...]  # the role's permissions the group lacks
    extra: tuple[str, ...]  # what the group holds beyond the role (hand-edited)

    @property
    def drift(self):
        return not self.exists or bool(self.missing or self.extra)


def held_by_group() -> dict[str, frozenset[str]]:
    """{group name: its permissions as "app.codename"} for the role groups that exist."""
    from django.contrib.auth.models import Group

    held = {}
    for group in Group.objects.filter(name__in=list(ROLES)).prefetch_related("permissions__content_type"):
        held[group.name] = frozenset(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all())
    return held


def matrix(held=None):
    """(columns, rows): rows are (action, [Cell per role]) comparing the table with the groups as they are."""
    held = held_by_group() if held is None else held
    columns, rows = [], []
    for role in ROLES:
        wanted, has = role_permissions(role), held.get(role, frozenset())
        columns.append(Column(role, role in held, tuple(sorted(wanted - has)), tuple(sorted(has - wanted))))
    for row in actions():
        perms, cells = set(row.permissions), []
        for column in columns:
            has = held.get(column.role, frozenset())
            cells.append(
                Cell(
                    held=tuple(sorted(perms & has)),
                    total=len(perms),
                    missing=tuple(sorted(perms & set(column.missing))),
                    extra=tuple(sorted(perms & set(column.extra))),
                )
            )
        rows.append((row, cells))
    return columns, rows
