from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.seeding import seed_row
from deployments import strategy
from deployments.models import ChecklistItem, DeploymentPolicy, RollbackTrigger, SmokeCheck, TrafficStep
from environments.public import Environment


def seed(report):
    for key, values in strategy.POLICIES.items():
        environment = Environment.objects.filter(key=key).first()
        if environment is None:
            continue
        policy = seed_row(DeploymentPolicy, lookup={"environment": environment}, values=values, report=report)
        if policy is None:
            continue
        if policy.is_blue_green:
            for order, (weight, hold) in enumerate(strategy.TRAFFIC_STEPS):
                seed_row(
                    TrafficStep,
                    lookup={"policy": policy, "order": order},
                    values={"weight": weight, "hold_seconds": hold},
                    report=report,
                )
        for path, status in strategy.SMOKE_CHECKS:
            seed_row(
                SmokeCheck,
                lookup={"policy": policy, "path": path.format(health_path=policy.health_path)},
                values={"expected_status": status},
                report=report,
            )
        for trigger in strategy.TRIGGERS:
            trigger = dict(trigger)
            seed_row(
                RollbackTrigger, lookup={"policy": policy, "kind": trigger.pop("kind")}, values=trigger, report=report
            )

    for order, (key, phase, text, ci) in enumerate(strategy.CHECKLIST):
        seed_row(
            ChecklistItem,
            lookup={"key": key},
            values={"phase": phase, "order": order, "text": text, "ci_settable": ci},
            report=report,
        )

    every, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    seed_row(
        PeriodicTask,
        lookup={"name": "Reconcile stale deployments"},
        values={"task": strategy.RECONCILE_TASK, "interval_id": every.pk, "enabled": True},
        report=report,
    )
