"""Seeding the strategy into the database without ever undoing an operator's edit.

Each seeded row keeps a SeedRecord of the values the seed last wrote. On a re-seed a
field is only updated when it still holds that value (nobody touched it) and the
strategy now says something else. Rows that existed before any seed are the
operators' and are left alone, and a seeded row an operator deleted stays deleted.
"""

from dataclasses import dataclass, field
from importlib import import_module

from django.apps import apps
from django.db import transaction

from core import roles
from core.models import SeedRecord


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    @property
    def changed(self):
        return bool(self.created or self.updated)

    def summary(self):
        return f"{len(self.created)} created, {len(self.updated)} updated, {len(self.kept)} operator edits kept"


def _seed_key(model, lookup):
    parts = ",".join(f"{k}={getattr(v, 'pk', v)}" for k, v in sorted(lookup.items()))
    return f"{model._meta.label_lower}:{parts}"


def seed_row(model, *, lookup: dict, values: dict, report: SeedReport):
    """Create or update one seeded row; returns it, or None where an operator deleted it."""
    label = f"{model._meta.verbose_name} {' '.join(str(v) for v in lookup.values())}"
    key = _seed_key(model, lookup)
    record = SeedRecord.objects.filter(key=key).first()
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        if record is not None:
            report.kept.append(f"{label}: deleted")
            return None
        obj = model.objects.create(**lookup, **values)
        SeedRecord.objects.create(key=key, values=values)
        report.created.append(label)
        return obj

    seeded = dict(record.values) if record else {}
    changed = []
    for name, new in values.items():
        current = getattr(obj, name)
        if current == new:
            seeded[name] = new
        elif name in seeded and seeded[name] == current:
            setattr(obj, name, new)
            seeded[name] = new
            changed.append(name)
        else:
            report.kept.append(f"{label}: {name}")
    if changed:
        obj.save(update_fields=changed)
        report.updated.append(f"{label}: {', '.join(changed)}")
    if record is None:
        SeedRecord.objects.create(key=key, values=seeded)
    elif seeded != record.values:
        record.values = seeded
        record.save(update_fields=["values", "seeded_at"])
    return obj


def seed_all() -> SeedReport:
    """Run every installed app's `seeds.seed(report)` in INSTALLED_APPS order, all or nothing."""
    report = SeedReport()
    with transaction.atomic():
        for config in apps.get_app_configs():
            try:
                module = import_module(f"{config.name}.seeds")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.seeds":
                    raise
                continue
            module.seed(report)
        seed_groups(report)
    return report


class RoleTableError(Exception):
    """core.roles names a permission that does not exist: the table is wrong, nothing was seeded."""


def _name(permission):
    return f"{permission.content_type.app_label}.{permission.codename}"


def permissions_by_name(names):
    """{"app.codename": Permission} for `names`; RoleTableError naming any that does not exist."""
    from django.contrib.auth.models import Permission

    names = set(names)
    found = {
        _name(p): p
        for p in Permission.objects.select_related("content_type").filter(
            codename__in={n.split(".", 1)[1] for n in names}
        )
    }
    missing = sorted(names - found.keys())
    if missing:
        raise RoleTableError(f"core.roles names permissions that do not exist: {', '.join(missing)}.")
    return {name: found[name] for name in names}


def _merge_permissions(*, wanted, current, seeded):
    """(add, remove, seeded after, operator edits kept) for one group, permission by permission as seed_row does
    field by field: the seed adds what the table gained and removes what it dropped; an operator's grant or
    removal stays."""
    add = wanted - seeded - current
    remove = (seeded - wanted) & current
    kept = sorted((wanted & seeded) - current) + sorted(current - wanted - seeded)
    return add, remove, wanted, kept


def seed_groups(report: SeedReport):
    """One group per role of core.roles, holding exactly its permissions unless an operator edited it."""
    from django.contrib.auth.models import Group

    table = {role: roles.role_permissions(role) for role in roles.ROLES}
    by_name = permissions_by_name(set().union(*table.values()))
    for role, wanted in table.items():
        key = f"auth.group:name={role}"
        record = SeedRecord.objects.filter(key=key).first()
        group = Group.objects.filter(name=role).first()
        if group is None and record is not None:
            report.kept.append(f"group {role}: deleted")
        elif group is None:
            Group.objects.create(name=role).permissions.set([by_name[p] for p in wanted])
            SeedRecord.objects.create(key=key, values={"permissions": sorted(wanted)})
            report.created.append(f"group {role}")
        else:
            _update_group(group, wanted, by_name, key=key, record=record, report=report)


def _update_group(group, wanted, by_name, *, key, record, report):
    held = {_name(p): p for p in group.permissions.select_related("content_type")}
    current = set(held)
    # A group made by hand before any seed gets what the role lacks; what it holds beyond the role stays.
    seeded = set(record.values.get("permissions", ())) if record else current & wanted
    add, remove, seeded_after, kept = _merge_permissions(wanted=wanted, current=current, seeded=seeded)
    if add:
        group.permissions.add(*(by_name[p] for p in add))
    if remove:
        group.permissions.remove(*(held[p] for p in remove))
    if add or remove:
        report.updated.append(f"group {group.name}: {len(add)} permission(s) added, {len(remove)} removed")
    report.kept.extend(f"group {group.name}: {p}" for p in kept)
    values = {"permissions": sorted(seeded_after)}
    if record is None:
        SeedRecord.objects.create(key=key, values=values)
    elif values != record.values:
        record.values = values
        record.save(update_fields=["values", "seeded_at"])
