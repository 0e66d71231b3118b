"""Third-party admin actions behind the permission they need: every write action in the console declares one.

django_celery_beat's periodic-task actions (enable, disable, toggle, run now) declare none, so any staff login
that may view periodic tasks could run them. They change the tasks, so they need the change permission.
"""

from django_celery_beat.admin import PeriodicTaskAdmin

for _name in ("enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks"):
    getattr(PeriodicTaskAdmin, _name).allowed_permissions = ("change",)
