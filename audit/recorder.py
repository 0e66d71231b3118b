"""Writes one AuditEntry per write to the console's own rows, in the same transaction as the write.

Model signals, so the admin, the APIs, hooks, commands and services are covered alike without each call site
remembering: pre_save reads the stored row (only the fields being saved), post_save and post_delete write the
entry with a plain INSERT on the same connection, so it commits or rolls back with the change (no on_commit).
Who acted comes from core.caller.current().

Kept cheap on purpose; these are not an operator's write and are skipped:
- history and event rows (simple_history's Historical*, *Event, the secrets access audit, this log itself);
- machine records: probe results, metric samples, RPO checks, notification attempts, raised alerts, seed records,
  Celery's results and beat's change counter;
- writes with no caller at all (the system: seeding in tests, a shell) and, from tasks, anything but a status
  change: a worker's step-by-step bookkeeping would drown the operators' writes;
- bulk writes that send no signals (QuerySet.update, bulk_create, raw SQL: the refresh's masking, the flags
  document in Redis): each is started by an operator's write that is itself recorded;
- a login's last_login stamp, and saves that change nothing.
"""

import datetime
import decimal
import functools
import re
import uuid

from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from core.caller import current

# The console's apps, and the third-party rows an operator edits in the admin.
AUDITED_APPS = {
    "environments", "flags", "deployments", "incidents", "migrations_log", "backups", "refreshes", "delivery",
    "monitoring", "secrets_registry", "core", "retention",
}  # fmt: skip
AUDITED_EXTRA = {"auth.User", "auth.Group", "django_celery_beat.PeriodicTask"}
SKIPPED = {
    "audit.AuditEntry",
    "secrets_registry.AccessAudit",
    "core.SeedRecord",
    "environments.HealthCheck",
    "deployments.MetricSample",
    "deployments.MetricSampleHourly",
    "backups.RpoCheck",
    "backups.RpoCheckHourly",
    "backups.BackupAlert",
    "incidents.NotificationAttempt",
    "monitoring.AlertNotification",
    "secrets_registry.SecretAlert",
}
ALWAYS_RECORDED_VIA = {"admin", "api", "hook", "command"}
# Values never copied into the log; the entry says they changed.
SECRET_FIELD = re.compile(r"password|digest|secret|token|key_hash", re.IGNORECASE)
IGNORED_FIELDS = {"last_login", "updated_at"}
MAX_TEXT = 500


@functools.cache
def audited(model) -> bool:
    meta = model._meta
    if model.__module__ == "__fake__":  # a migration's historical model: the table may not exist yet
        return False
    if meta.label in SKIPPED or meta.proxy and meta.concrete_model._meta.label in SKIPPED:
        return False
    if meta.app_label not in AUDITED_APPS and meta.label not in AUDITED_EXTRA:
        return False
    name = model.__name__
    return not (name.startswith("Historical") or name.endswith("Event"))


def _jsonable(value):
    if value is None or isinstance(value, bool | int | float | dict | list):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID | datetime.timedelta):
        return str(value)
    return str(value)[:MAX_TEXT]


def _fields(model, update_fields=None):
    fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.name not in IGNORED_FIELDS]
    if update_fields is not None:
        fields = [f for f in fields if f.name in update_fields or f.attname in update_fields]
    return fields


def _value(field, value):
    if SECRET_FIELD.search(field.name):
        return "(hidden)" if value not in (None, "") else value
    return _jsonable(value)


def diff(old: dict | None, instance, fields) -> dict:
    """{field: [old, new]} of what changed (everything, for a new row)."""
    changes = {}
    for field in fields:
        new = getattr(instance, field.attname)
        if old is None:
            if new not in (None, "", [], {}):
                changes[field.name] = [None, _value(field, new)]
        elif old.get(field.attname) != new:
            changes[field.name] = [_value(field, old.get(field.attname)), _value(field, new)]
    return changes


def action_for(created: bool, changes: dict) -> str:
    if created:
        return "create"
    if "status" in changes:
        old, new = changes["status"]
        return f"status: {old or '—'} → {new}"
    return "update"


def _records(caller, action: str) -> bool:
    if caller.via in ALWAYS_RECORDED_VIA:
        return True
    return caller.via == "task" and action.startswith("status:")


def write(instance, *, action: str, changes: dict, using: str, caller=None):
    caller = caller or current()
    if not _records(caller, action):
        return None
    from audit.models import AuditEntry

    user = caller.user if getattr(caller.user, "pk", None) else None
    if caller.reason:  # a confirmed action (core.confirm): every row it writes says why
        changes = {**changes, "reason": [None, caller.reason[:MAX_TEXT]]}
    try:
        text = str(instance)
    except Exception:  # a __str__ that needs a deleted relation must not stop the write it describes
        text = f"{type(instance).__name__} #{instance.pk}"
    return AuditEntry.objects.using(using).create(
        actor=user,
        actor_label=caller.label[:200],
        via=caller.via,
        token_prefix=caller.token[:40],
        session=caller.session,
        ip=caller.ip or None,
        content_type=ContentType.objects.db_manager(using).get_for_model(type(instance), for_concrete_model=False),
        object_id=str(instance.pk),
        object_repr=text[:200],
        action=action[:100],
        changes=changes,
    )


# --- Signal receivers ---------------------------------------------------------------------------------------------


def _before_save(sender, instance, raw=False, using=None, update_fields=None, **kwargs):
    via = current().via
    if raw or via == "system" or not audited(sender):
        return
    instance.__dict__.pop("_audit_old", None)
    if instance._state.adding or instance.pk is None:
        return
    fields = _fields(sender, update_fields)
    if via == "task" and not any(f.name == "status" for f in fields):
        return  # a task's save is recorded only for a status change: no read for the rest
    old = sender._base_manager.using(using).filter(pk=instance.pk).values(*[f.attname for f in fields]).first()
    instance.__dict__["_audit_old"] = (old, fields)


def _after_save(sender, instance, created, raw=False, using=None, update_fields=None, **kwargs):
    if raw or not audited(sender) or current().via == "system":
        return
    old, fields = instance.__dict__.pop("_audit_old", (None, _fields(sender, update_fields)))
    if not created and old is None:
        return  # not read before the save (a task's save without a status), or the row had vanished
    changes = diff(None if created else old, instance, fields)
    if not created and not changes:
        return
    write(instance, action=action_for(created, changes), changes=changes, using=using)


def _after_delete(sender, instance, using=None, **kwargs):
    if not audited(sender) or current().via == "system":
        return
    write(instance, action="delete", changes={}, using=using)


def _m2m(sender, instance, action, reverse, model, pk_set, using=None, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear") or reverse or not audited(type(instance)):
        return
    if current().via == "system":
        return
    field = next(
        (f.name for f in type(instance)._meta.many_to_many if f.remote_field.through is sender), sender.__name__
    )
    word = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
    write(instance, action="update", changes={field: {word: sorted(pk_set or [])}}, using=using)


def connect():
    pre_save.connect(_before_save, dispatch_uid="audit_before_save")
    post_save.connect(_after_save, dispatch_uid="audit_after_save")
    post_delete.connect(_after_delete, dispatch_uid="audit_after_delete")
    m2m_changed.connect(_m2m, dispatch_uid="audit_m2m")
