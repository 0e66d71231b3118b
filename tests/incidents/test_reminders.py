"""The beat's reminder task, run by a real Celery worker against committed rows."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from incidents.models import ActionItem, Incident, NotificationAttempt
from incidents.strategy import REMINDER_TASK
from incidents.tasks import send_reminders
from tests.conftest import wait_until
from tests.incidents.conftest import make_rolled_back

pytestmark = pytest.mark.worker


def _incident(*, version, **values):
    from incidents import services

    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back(version=version).pk)
    Incident.objects.filter(pk=incident.pk).update(**values)
    incident.refresh_from_db()
    return incident


def test_reminders__from_a_real_worker__each_due_reminder_fires_once(worker, seeded_tx, make_user):
    owner = make_user("owner")
    now = timezone.now()
    report_due = _incident(version="v1.1", status="resolved", resolved_at=now - timedelta(hours=30), owner=owner)
    report_done = _incident(
        version="v1.2",
        status="resolved",
        resolved_at=now - timedelta(hours=30),
        error_logs="x",
        affected_functionality="x",
        customer_impact="x",
        root_cause="x",
        summary="x",
    )
    postmortem_due = _incident(version="v1.3", opened_at=now - timedelta(days=4), owner=owner)
    fresh = _incident(version="v1.4")
    overdue = ActionItem.objects.create(
        incident=fresh, title="Add an index", owner="dev@amarise.invalid", due_date=now.date() - timedelta(days=1)
    )
    not_due = ActionItem.objects.create(
        incident=fresh, title="Write a test", owner="dev@amarise.invalid", due_date=now.date() + timedelta(days=3)
    )
    assert PeriodicTask.objects.get(name="Incident reminders").task == REMINDER_TASK

    outcome = send_reminders.delay().get(timeout=30)

    assert f"#{report_due.pk} report" in outcome
    assert f"#{postmortem_due.pk} post-mortem" in outcome
    assert f"action item {overdue.pk}" in outcome
    assert f"#{report_done.pk} report" not in outcome and f"action item {not_due.pk}" not in outcome
    report_due.refresh_from_db()
    assert report_due.report_reminded_at is not None
    assert report_due.timeline.filter(kind="reminder", text__contains="customer impact").exists()
    wait_until(
        lambda: NotificationAttempt.objects.filter(incident=report_due, event="reminder_report").exists(),
        what="the report reminder's delivery",
    )
    attempt = NotificationAttempt.objects.get(incident=report_due, event="reminder_report")
    assert attempt.recipients == "owner@amarise.invalid"
    wait_until(
        lambda: NotificationAttempt.objects.filter(event="action_overdue", recipients="dev@amarise.invalid").exists(),
        what="the overdue action item's delivery",
    )

    assert send_reminders.delay().get(timeout=30) == "nothing due"
