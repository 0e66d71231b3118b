from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.seeding import seed_row
from environments.public import Environment
from incidents import conf, strategy
from incidents.models import Contact, Severity, SeverityPolicy


def seed(report):
    severities = {}
    for key, name, order, detection, decision, execution, total in strategy.SEVERITIES:
        severities[key] = seed_row(
            Severity,
            lookup={"key": key},
            values={
                "name": name,
                "order": order,
                "detection_minutes": detection,
                "decision_minutes": decision,
                "execution_minutes": execution,
                "total_minutes": total,
            },
            report=report,
        )
    for cause, key in strategy.SEVERITY_POLICY.items():
        if severities.get(key) is not None:
            seed_row(SeverityPolicy, lookup={"cause": cause}, values={"severity_id": severities[key].pk}, report=report)

    # Each environment's on-call address, told of every incident there: an .invalid address until operators
    # change it (README, "Incident contacts"), so incident email no longer goes to no one by default.
    for environment in Environment.objects.order_by("order"):
        seed_row(
            Contact,
            lookup={"environment": environment, "severity": None, "role": Contact.Role.ONCALL},
            values={"email": strategy.ONCALL_EMAIL.format(key=environment.key)},
            report=report,
        )

    every, _ = IntervalSchedule.objects.get_or_create(
        every=conf.reminder_interval_seconds(), period=IntervalSchedule.SECONDS
    )
    seed_row(
        PeriodicTask,
        lookup={"name": "Incident reminders"},
        values={"task": strategy.REMINDER_TASK, "interval_id": every.pk, "enabled": True},
        report=report,
    )
