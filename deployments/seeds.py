from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.seeding import seed_row
from deployments import strategy
from deployments.models import (
    ChecklistItem,
    DeploymentPolicy,
    JourneyStep,
    RollbackTrigger,
    SmokeCheck,
    SyntheticJourney,
    TrafficStep,
)
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

        seed_journeys(policy, report)

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
    every_5, _ = IntervalSchedule.objects.get_or_create(
        every=strategy.POST_DEPLOY_EVERY_MINUTES, period=IntervalSchedule.MINUTES
    )
    seed_row(
        PeriodicTask,
        lookup={"name": "Post-deployment checks (bake period)"},
        values={"task": strategy.POST_DEPLOY_TASK, "interval_id": every_5.pk, "enabled": True},
        report=report,
    )


def seed_journeys(policy, report):
    for order, (name, steps) in enumerate(strategy.JOURNEYS):
        journey = seed_row(
            SyntheticJourney, lookup={"policy": policy, "name": name}, values={"order": order}, report=report
        )
        if journey is None:
            continue
        for index, (step_name, method, path, form, status, body) in enumerate(steps):
            seed_row(
                JourneyStep,
                lookup={"journey": journey, "order": index},
                values={
                    "name": step_name,
                    "method": method,
                    "path": path,
                    "form": form,
                    "expected_status": status,
                    "body_contains": body,
                },
                report=report,
            )
