"""The console's own beat job: a daily warning about API tokens that expire within a week."""

from django_celery_beat.models import CrontabSchedule, PeriodicTask

from core.seeding import seed_row
from core.tasks import WARN_EXPIRING_TOKENS_TASK


def seed(report):
    daily, _ = CrontabSchedule.objects.get_or_create(minute="0", hour="8", day_of_week="*", day_of_month="*",
                                                     month_of_year="*", timezone="UTC")  # fmt: skip
    values = {"task": WARN_EXPIRING_TOKENS_TASK, "enabled": True, "crontab_id": daily.pk}
    seed_row(PeriodicTask, lookup={"name": "API tokens: warn of expiry"}, values=values, report=report)
