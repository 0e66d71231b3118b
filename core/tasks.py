"""Enqueue a task by name, once the current transaction commits.

Services call this instead of importing their app's tasks module, so services never import tasks
(tasks import services) and no app is a circle of imports. Looking the task up in the app's registry
keeps Celery's own behaviour, eager mode included.
"""

from celery import current_app, shared_task
from django.db import transaction

from core.task_base import OpsTask


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


WARN_EXPIRING_TOKENS_TASK = "core.warn_expiring_tokens"


@shared_task(base=OpsTask, name=WARN_EXPIRING_TOKENS_TASK)
def warn_expiring_tokens() -> str:
    """Beat's daily look at API tokens expiring within a week: logged as warnings (alerting can hook the logger).

    By hand: `python manage.py tokens --expiring`, or "Run selected tasks" on this periodic task in the admin.
    """
    from core.tokens import expires_text, expiring, logger

    soon = list(expiring())
    for token in soon:
        logger.warning("API token %s (%s, owner %s) expires %s", token.prefix, token.name, token.owner,
                       expires_text(token.expires_at))  # fmt: skip
    return f"{len(soon)} API token(s) expire within a week"
