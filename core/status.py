"""The one way a row with a status changes it: locked, checked against its map, saved, and recorded.

A model with a status declares, as class attributes and one method:

    TRANSITIONS = {old: {new, ...}, ...}     # where it may go from each status; anything else is refused
    transition_error = InvalidTransition     # its app's subclass of core.status.InvalidTransition (optional)

    def record_status_change(self, *, old, new, actor, user, reason):
        '''Write the event row (append-only) for this change.'''

and may add `on_status_change(self, old, new) -> iterable of field names` for the fields it sets
itself on a change (finished_at on a final status, say). Services call `change_status`; nothing
else writes `status`, except a claim-by-UPDATE that records its own event in the same transaction.
"""

from dataclasses import dataclass
from typing import Any

from django.db import transaction


class InvalidTransition(Exception):
    """A status change the row's map does not allow; nothing was changed."""


@dataclass(frozen=True)
class StatusChange:
    obj: Any
    old: str
    new: str
    changed: bool

    def __bool__(self):
        return self.changed


def _label(model, status):
    field = model._meta.get_field("status")
    return str(dict(field.flatchoices).get(status, status)).lower()


def refusal(obj, new: str) -> str:
    model = type(obj)
    name = str(model._meta.verbose_name).capitalize()
    return f"{name} #{obj.pk} is {_label(model, obj.status)}; it cannot go to {_label(model, new)}."


def allowed(obj, new: str) -> bool:
    return new in type(obj).TRANSITIONS.get(obj.status, ())


def change_status(obj, new: str, *, actor: str = "", user=None, reason: str = "", fields: dict | None = None):
    """Move `obj` to `new`, writing its event row in the same transaction. Already there: nothing happens.

    The row is locked and its status read again, so two callers racing for one transition (two workers
    claiming a queued run, say) cannot both make it: the second finds it done and gets `changed=False`.
    `obj` itself is updated in place, so a caller holding it keeps working with the saved state.
    """
    model = type(obj)
    with transaction.atomic():
        obj.status = model._base_manager.select_for_update().values_list("status", flat=True).get(pk=obj.pk)
        old = obj.status
        if old == new:
            return StatusChange(obj, old, new, changed=False)
        if not allowed(obj, new):
            raise getattr(model, "transition_error", InvalidTransition)(refusal(obj, new))
        obj.status = new
        changed = {"status"}
        for name, value in (fields or {}).items():
            setattr(obj, name, value)
            changed.add(name)
        hook = getattr(obj, "on_status_change", None)
        if hook is not None:
            changed.update(hook(old, new) or ())
        obj.save(update_fields=sorted(changed))
        obj.record_status_change(old=old, new=new, actor=actor, user=user, reason=reason)
    return StatusChange(obj, old, new, changed=True)


def record_creation(obj, *, actor: str = "", user=None, reason: str = ""):
    """The first event row of a row created in its initial status (old status empty)."""
    obj.record_status_change(old="", new=obj.status, actor=actor, user=user, reason=reason)
