"""Enqueue a task by name, once the current transaction commits.

Services call this instead of importing their app's tasks module, so services never import tasks
(tasks import services) and no app is a circle of imports. Looking the task up in the app's registry
keeps Celery's own behaviour, eager mode included.
"""

from celery import current_app
from django.db import transaction


def _task(name: str):
    if name not in current_app.tasks:
        # A web process imports no tasks module by itself: load them as the worker does (autodiscovery).
        current_app.loader.import_default_modules()
    try:
        return current_app.tasks[name]
    except KeyError:
        raise LookupError(f"No Celery task is registered as {name!r}.") from None


def enqueue(name: str, *args, countdown: float | None = None, **kwargs) -> None:
    """Send task `name` with `args`/`kwargs` on commit (at once when no transaction is open)."""
    options = {"countdown": countdown} if countdown else {}
    transaction.on_commit(lambda: _task(name).apply_async(args, kwargs or None, **options))


def signature(name: str, *args, immutable: bool = True, **kwargs):
    """A signature of task `name`, for chains and groups, without importing its module."""
    return _task(name).signature(args, kwargs, immutable=immutable)
