"""Delivery through a real SMTP conversation with a local stand-in relay (tests/incidents/standins.py)."""

import pytest
from django.test import override_settings

from incidents import services
from incidents.models import Incident, NotificationAttempt
from tests.incidents.conftest import make_rolled_back


def _smtp(server):
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=server.port,
        EMAIL_USE_TLS=False,
        EMAIL_TIMEOUT=5,
    )


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setenv("OPS_INCIDENT_NOTIFY_RETRIES", "2")
    monkeypatch.setenv("OPS_INCIDENT_NOTIFY_RETRY_SECONDS", "0")
    monkeypatch.setenv("OPS_INCIDENT_STAKEHOLDERS", "ops@amarise.invalid, cto@amarise.invalid")


def test_smtp_refuses__retried_logged_and_incident_saved(seeded, smtp_refusing, fast_retries,
                                                          django_capture_on_commit_callbacks):  # fmt: skip
    deployment = make_rolled_back()

    with _smtp(smtp_refusing), django_capture_on_commit_callbacks(execute=True):
        incident, created = services.open_incident_for_rollback(deployment_id=deployment.pk)

    assert created and Incident.objects.filter(pk=incident.pk, deployment=deployment).exists()
    assert incident.timeline.exists()
    attempts = list(NotificationAttempt.objects.filter(incident=incident, event="opened").order_by("attempt"))
    assert [a.attempt for a in attempts] == [1, 2, 3]  # the first try and two retries
    assert not any(a.ok for a in attempts)
    assert all("554" in a.error and "relay refused" in a.error for a in attempts)
    assert [a.final for a in attempts] == [False, False, True]
    assert attempts[0].recipients == "cto@amarise.invalid, oncall-staging@amarise.invalid, ops@amarise.invalid"
    assert smtp_refusing.sessions == 3 and smtp_refusing.messages == []


def test_smtp_refuses_once__second_attempt_delivered(seeded, smtp_flaky, fast_retries,
                                                      django_capture_on_commit_callbacks):  # fmt: skip
    deployment = make_rolled_back()

    with _smtp(smtp_flaky), django_capture_on_commit_callbacks(execute=True):
        incident, _ = services.open_incident_for_rollback(deployment_id=deployment.pk)

    attempts = list(NotificationAttempt.objects.filter(incident=incident).order_by("attempt"))
    assert [(a.attempt, a.ok) for a in attempts] == [(1, False), (2, True)]
    assert len(smtp_flaky.messages) == 1
    assert f"Subject: [Critical] Incident #{incident.pk} opened" in smtp_flaky.messages[0]


def test_status_change__smtp_refuses__status_still_changed(seeded, smtp_refusing, fast_retries,
                                                            django_capture_on_commit_callbacks):  # fmt: skip
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back().pk)

    with _smtp(smtp_refusing), django_capture_on_commit_callbacks(execute=True):
        services.change_status(incident_id=incident.pk, status="resolved")

    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert NotificationAttempt.objects.filter(incident=incident, event="resolved", ok=False).count() == 3
