"""The project package. The Celery app (amarise_ops/celery.py) is loaded on first use, not at start-up.

Importing Celery costs ~0.3 s that `manage.py help`, `migrate` and every cron'd command would pay for nothing.
It is loaded where it is used: `celery -A amarise_ops` (Celery finds amarise_ops.celery by itself), the web
process (amarise_ops/wsgi.py), and anything that sends a task (core/tasks.py: enqueue, signature). Tasks
declared with `shared_task` before it loads are bound to it when it does. `amarise_ops.celery_app` still works.
"""


def __getattr__(name):
    if name == "celery_app":
        from amarise_ops.celery import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ("celery_app",)
