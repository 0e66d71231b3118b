"""The seeded retention periods (issue 19) and beat's hourly prune. Operator edits are kept (core.seeding)."""

from django_celery_beat.models import CrontabSchedule, PeriodicTask

from core.seeding import seed_row
from retention.models import RetentionPolicy

PRUNE_ALL_TASK = "retention.prune_all"  # retention/tasks.py registers it

ROLLUPS_KEPT = 396  # days: 13 months of hourly roll-ups, a year and its month-ago comparison

# (table, time field, days kept or None for "kept", days its hourly roll-ups are kept or None, note)
POLICIES = (
    ("backups.RpoCheck", "checked_at", 30, ROLLUPS_KEPT, "raw checks, one a minute per database; hourly 13 months"),
    ("deployments.MetricSample", "taken_at", 30, ROLLUPS_KEPT, "raw load-balancer samples; hourly 13 months"),
    ("django_celery_results.TaskResult", "date_done", 1, None, "as celery.backend_cleanup (result_expires: 1 day)"),
    ("deployments.DeploymentEvent", "at", None, None, "kept: indexed on time"),
    ("incidents.TimelineEntry", "at", None, None, "kept: append-only, indexed on time"),
)


def seed(report):
    for table, time_field, keep_days, rollup_keep_days, note in POLICIES:
        values = {"time_field": time_field, "keep_days": keep_days, "rollup_keep_days": rollup_keep_days, "note": note}
        seed_row(RetentionPolicy, lookup={"table": table}, values=values, report=report)
    hourly, _ = CrontabSchedule.objects.get_or_create(minute="17", hour="*", day_of_week="*", day_of_month="*",
                                                      month_of_year="*", timezone="UTC")  # fmt: skip
    values = {"task": PRUNE_ALL_TASK, "enabled": True, "crontab_id": hourly.pk}
    seed_row(PeriodicTask, lookup={"name": "Retention: prune old rows"}, values=values, report=report)
