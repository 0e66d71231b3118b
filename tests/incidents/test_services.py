import hashlib
import hmac
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from core.status import InvalidTransition as StatusRefused
from deployments.models import Deployment
from deployments.signals import deployment_rolled_back
from incidents import services
from incidents.choices import IncidentStatus, Phase, Source
from incidents.exceptions import IncidentRefused, InvalidTransition
from incidents.models import Incident, NotificationAttempt, Severity, SeverityPolicy
from tests.incidents.conftest import make_rolled_back


def test_open_for_rollback__automatic_5xx__critical_with_engine_instants_and_timeline(seeded):
    deployment = make_rolled_back()

    incident, created = services.open_incident_for_rollback(deployment_id=deployment.pk)

    assert created
    assert incident.severity.key == "critical" and incident.cause == "error_rate"
    assert incident.status == IncidentStatus.MITIGATED
    assert (incident.detected_at, incident.decided_at, incident.executed_at) == (
        deployment.detected_at,
        deployment.decided_at,
        deployment.executed_at,
    )
    traffic = deployment.events.get(new_status="shifting_traffic").at
    assert incident.started_at == traffic
    assert incident.release == deployment.release and incident.environment == deployment.environment
    # 60 s to detect, 30 s to decide, 20 s to execute: within every Critical target.
    assert incident.compliance() == dict.fromkeys(Phase, True)
    texts = list(incident.timeline.values_list("kind", "source", "text"))
    assert ("trigger", "alert", "5xx rate 20.0% > 5%: automatic rollback") in texts
    assert texts[-1][0] == "opened"


def test_open_for_rollback__slow_decision__decision_and_total_missed(seeded):
    deployment = make_rolled_back(traffic_to_detect=60, detect_to_decide=600, decide_to_execute=20)

    incident, _ = services.open_incident_for_rollback(deployment_id=deployment.pk)

    assert incident.met(Phase.DETECTION) and incident.met(Phase.EXECUTION)
    assert incident.met(Phase.DECISION) is False and incident.met(Phase.TOTAL) is False


def test_open_for_rollback__called_twice__one_incident(seeded):
    deployment = make_rolled_back()

    first, created_first = services.open_incident_for_rollback(deployment_id=deployment.pk)
    second, created_second = services.open_incident_for_rollback(deployment_id=deployment.pk)

    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk
    assert Incident.objects.filter(deployment=deployment).count() == 1


def test_rollback_signal__sent_twice__exactly_one_incident(seeded, django_capture_on_commit_callbacks):
    deployment = make_rolled_back()

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            deployment_rolled_back.send(sender=Deployment, deployment_id=deployment.pk)

    assert Incident.objects.filter(deployment=deployment).count() == 1


def test_open_for_rollback__manual__high_owned_by_the_person_who_decided(seeded, make_user):
    person = make_user("oncall")
    deployment = make_rolled_back(automatic=False, user=person)

    incident, _ = services.open_incident_for_rollback(deployment_id=deployment.pk)

    assert incident.severity.key == "high" and incident.cause == "manual"
    assert incident.owner == person
    assert incident.decided_at == deployment.decided_at
    assert incident.timeline.filter(user=person, source="person").exists()


def test_open_for_rollback__reconcile_without_trigger__engine_cause(seeded):
    deployment = make_rolled_back(trigger_kind=None)

    incident, _ = services.open_incident_for_rollback(deployment_id=deployment.pk)

    assert incident.cause == "engine" and incident.severity.key == "high"


def test_open_for_rollback__policy_edited__severity_follows(seeded):
    SeverityPolicy.objects.filter(cause="error_rate").update(severity=Severity.objects.get(key="medium"))
    deployment = make_rolled_back()

    incident, _ = services.open_incident_for_rollback(deployment_id=deployment.pk)

    assert incident.severity.key == "medium"


def test_open_for_rollback__standby_failed_too__investigating(seeded):
    deployment = make_rolled_back(status="failed")

    incident, _ = services.open_incident_for_rollback(deployment_id=deployment.pk)

    assert incident.status == IncidentStatus.INVESTIGATING


def test_open_for_rollback__never_executed__refused_nothing_created(seeded):
    deployment = make_rolled_back()
    Deployment.objects.filter(pk=deployment.pk).update(executed_at=None)

    with pytest.raises(IncidentRefused, match="no executed rollback"):
        services.open_incident_for_rollback(deployment_id=deployment.pk)

    assert not Incident.objects.exists()


def test_open_incident__by_hand_without_deployment__opened_with_entry(seeded, make_user, env):
    person = make_user("oncall")
    staging = env("staging")

    incident = services.open_incident(
        title="Search slow", environment=staging, severity=Severity.objects.get(key="medium"), user=person
    )

    assert incident.deployment is None and incident.owner == person and incident.opened_by == "person"
    assert incident.timeline.get().text == "Incident opened by hand"


def test_open_incident__blank_title__refused_nothing_created(seeded, env):
    with pytest.raises(IncidentRefused, match="needs a title"):
        services.open_incident(title="  ", environment=env("dev"), severity=Severity.objects.first())

    assert not Incident.objects.exists()


def test_open_incident__deployment_already_has_one__refused(seeded):
    deployment = make_rolled_back()
    services.open_incident_for_rollback(deployment_id=deployment.pk)

    with pytest.raises(IncidentRefused, match="already has an incident"):
        services.open_incident(
            title="dup", environment=deployment.environment, severity=Severity.objects.first(), deployment=deployment
        )

    assert Incident.objects.count() == 1


def test_change_status__through_the_lifecycle__resolved_at_set_and_entries(seeded):
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back().pk)

    services.change_status(incident_id=incident.pk, status="resolved")
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_at is not None
    assert incident.timeline.filter(kind="transition", text__startswith="Mitigated → Resolved").exists()

    _, changed = services.change_status(incident_id=incident.pk, status="resolved")
    assert changed is False


def test_change_status__backwards__refused_unchanged(seeded):
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back().pk)

    with pytest.raises(InvalidTransition, match="is mitigated; it cannot go to investigating"):
        services.change_status(incident_id=incident.pk, status="investigating")

    incident.refresh_from_db()
    assert incident.status == "mitigated"


def test_change_status__outside_the_map__refused_clearly_and_nothing_changes(seeded):
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back().pk)
    entries = incident.timeline.count()

    with pytest.raises(InvalidTransition) as refused:
        services.change_status(incident_id=incident.pk, status="postmortem_done", note="skip ahead")

    assert str(refused.value) == f"Incident #{incident.pk} is mitigated; it cannot go to post-mortem done."
    assert isinstance(refused.value, StatusRefused)
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == ("mitigated", None)
    assert incident.timeline.count() == entries


def test_change_status__to_its_current_status__no_op_without_an_entry(seeded, django_capture_on_commit_callbacks):
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back().pk)
    entries = incident.timeline.count()

    with django_capture_on_commit_callbacks() as notifications:
        _, changed = services.change_status(incident_id=incident.pk, status="mitigated")

    assert changed is False and notifications == []
    assert incident.timeline.count() == entries


def test_change_status__postmortem_done_before_scheduled__refused(seeded):
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back().pk)
    services.change_status(incident_id=incident.pk, status="resolved")

    with pytest.raises(IncidentRefused, match="Schedule the post-mortem"):
        services.change_status(incident_id=incident.pk, status="postmortem_done")


def test_notifications__opened_and_resolved__email_to_stakeholders(seeded, django_capture_on_commit_callbacks):
    deployment = make_rolled_back()
    incident, _ = services.open_incident_for_rollback(deployment_id=deployment.pk)
    incident.stakeholders.create(email="cto@amarise.invalid")

    with django_capture_on_commit_callbacks(execute=True):
        services.change_status(incident_id=incident.pk, status="resolved")

    # with staging's seeded on-call contact (incidents.Contact)
    assert [m.to for m in mail.outbox] == [["cto@amarise.invalid", "oncall-staging@amarise.invalid"]]
    assert mail.outbox[0].subject == f"[Critical] Incident #{incident.pk} resolved: {incident.title}"
    assert NotificationAttempt.objects.get(event="resolved").ok


def test_notifications__webhook_configured__signed_json_posted(seeded, webhook, monkeypatch):
    monkeypatch.setenv("OPS_INCIDENT_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("OPS_INCIDENT_WEBHOOK_SECRET", "s3cret-for-test")
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back().pk)

    services.deliver(incident_id=incident.pk, event="opened", channel="webhook")

    request = webhook.requests[-1]
    expected = "sha256=" + hmac.new(b"s3cret-for-test", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Ops-Signature-256"] == expected
    assert request["json"]["incident"]["severity"] == "critical" and request["json"]["event"] == "opened"
    assert "s3cret" not in request["body"].decode()


def test_notifications__webhook_without_secret__logged_not_sent(seeded, webhook, monkeypatch):
    monkeypatch.setenv("OPS_INCIDENT_WEBHOOK_URL", webhook.url)
    monkeypatch.delenv("OPS_INCIDENT_WEBHOOK_SECRET", raising=False)
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back().pk)

    with pytest.raises(PermissionError):
        services.deliver(incident_id=incident.pk, event="opened", channel="webhook")

    assert webhook.requests == []
    assert "never sent unsigned" in NotificationAttempt.objects.get(channel="webhook").error


def test_schedule_postmortem__attendees_set__ics_invitation_emailed(seeded, django_capture_on_commit_callbacks):
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back().pk)
    when = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    Incident.objects.filter(pk=incident.pk).update(
        postmortem_at=when, postmortem_attendees="a@amarise.invalid\nb@amarise.invalid"
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.schedule_postmortem(incident_id=incident.pk)

    message = mail.outbox[-1]
    assert message.to == ["a@amarise.invalid", "b@amarise.invalid"]
    name, ics, mimetype = message.attachments[0]
    assert name == "postmortem.ics" and mimetype.startswith("text/calendar")
    assert "METHOD:REQUEST" in ics and f"DTSTART:{when:%Y%m%dT%H%M%S}Z" in ics
    assert "ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:b@amarise.invalid" in ics
    incident.refresh_from_db()
    assert incident.postmortem_invited_at is not None


def test_schedule_postmortem__no_date__refused_nothing_sent(seeded, django_capture_on_commit_callbacks):
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back().pk)

    with pytest.raises(IncidentRefused, match="date first"), django_capture_on_commit_callbacks(execute=True):
        services.schedule_postmortem(incident_id=incident.pk)

    assert mail.outbox == []
    incident.refresh_from_db()
    assert incident.postmortem_invited_at is None


def test_schedule_postmortem__bad_attendee__refused(seeded):
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back().pk)
    Incident.objects.filter(pk=incident.pk).update(
        postmortem_at=timezone.now() + timedelta(days=1), postmortem_attendees="not-an-email"
    )

    with pytest.raises(Exception, match="not an email address"):
        services.schedule_postmortem(incident_id=incident.pk)


def test_correct_entry__adds_a_new_entry_pointing_at_the_old(seeded):
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back().pk)
    first = incident.timeline.first()

    correction = services.correct_entry(entry_id=first.pk, text="Traffic shift began 10 s earlier")

    assert correction.corrects == first and correction.kind == "correction"
    first.refresh_from_db()
    assert first.text == "Traffic: 10% on green"


def test_open_incident__from_an_alert__opened_by_alert_with_its_entry(seeded, env):
    # Given an alert-side caller (monitoring's alerting path)
    # When it opens an incident with source "alert"
    incident = services.open_incident(
        title="Critical alert EnvironmentDown on Staging", environment=env("staging"),
        severity=Severity.objects.first(), source=Source.ALERT,
    )  # fmt: skip

    # Then the incident says an alert opened it, and so does its first entry
    assert incident.opened_by == "alert" and incident.get_opened_by_display() == "Alert"
    entry = incident.timeline.get()
    assert (entry.source, entry.text) == ("alert", "Incident opened by an alert")


def test_open_incident__unknown_source__refused_nothing_created(seeded, env):
    with pytest.raises(IncidentRefused, match="is opened by one of engine, alert, person, not .pager."):
        services.open_incident(title="x", environment=env("dev"), severity=Severity.objects.first(), source="pager")

    assert not Incident.objects.exists()
