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
    return report
