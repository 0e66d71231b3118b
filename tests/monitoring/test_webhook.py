"""POST /api/alerts/alertmanager/: bearer token, JSON 400 with nothing written, idempotent; critical opens
one incident per environment and alert name, warning notifies on-call only, resolved goes to the timeline."""

import json

import pytest
from django.test import override_settings

from incidents.public import Incident
from monitoring.models import Alert, AlertEvent, AlertNotification
from tests.monitoring.payloads import alert, notification

pytestmark = pytest.mark.django_db
TOKEN = "webhook-token-for-tests"
URL = "/api/alerts/alertmanager/"


@pytest.fixture(autouse=True)
def token():
    with override_settings(OPS_MONITORING_WEBHOOK_TOKEN=TOKEN):
        yield


def post(client, body, token=TOKEN):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def _counts():
    return (Alert.objects.count(), AlertEvent.objects.count(), AlertNotification.objects.count(),
            Incident.objects.count())  # fmt: skip


def test_webhook__bad_token__401_nothing_written(client, seeded):
    response = post(client, notification(alert()), token="wrong")
    assert response.status_code == 401
    assert response.json()["error"].startswith("a bearer token is required")
    assert _counts() == (0, 0, 0, 0)


def test_webhook__no_token_configured__401(client, seeded):
    with override_settings(OPS_MONITORING_WEBHOOK_TOKEN=""):
        assert post(client, notification(alert()), token="").status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        ([1, 2], "JSON object"),
        ({"version": "3", "alerts": []}, "version 4"),
        ({"version": "4", "alerts": {}}, "'alerts' must be a list"),
        (notification(alert(), {**alert(name="Other"), "status": "pending"}), "alerts[1].status"),
        (notification(alert(), {**alert(name="Other"), "startsAt": "yesterday"}), "not an RFC 3339 time"),
    ],
)
def test_webhook__malformed__json_400_nothing_written(client, seeded, body, message):
    response = post(client, body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert message in response.json()["error"]
    assert _counts() == (0, 0, 0, 0)  # the good alert before the bad one was not kept either


def test_webhook__same_notification_twice__changes_nothing(client, seeded):
    body = notification(alert(), alert(name="CpuUsage", severity="warning"))
    assert post(client, body).json() == {"received": 2, "created": 2, "changed": 0}
    after_first = _counts()
    assert post(client, body).json() == {"received": 2, "created": 0, "changed": 0}
    assert _counts() == after_first


def test_webhook__warning__notifies_on_call_only_no_incident(client, seeded):
    post(client, notification(alert(name="CpuUsage", severity="warning", summary="CPU at 75 %")))
    row = Alert.objects.get()
    assert (row.status, row.severity, row.environment.key, row.incident) == ("firing", "warning", "production", None)
    sent = AlertNotification.objects.get()
    assert sent.recipients == "oncall-production@amarise.invalid"
    assert sent.event == "firing" and "CPU at 75 %" in sent.body and list(sent.alerts.all()) == [row]
    assert not Incident.objects.exists()


def test_webhook__critical__opens_one_incident_and_joins_it_afterwards(client, seeded):
    post(client, notification(alert(fingerprint="aaaa000000000001", slot="blue")))
    incident = Incident.objects.get()
    assert incident.environment.key == "production" and incident.severity.key == "critical"
    assert incident.is_open
    assert "Opened by the critical alert ErrorRate" in " ".join(incident.timeline.values_list("text", flat=True))
    # Another series of the same alert in the same environment joins it: never a second incident.
    post(client, notification(alert(fingerprint="aaaa000000000002", slot="green")))
    assert Incident.objects.count() == 1
    assert set(Alert.objects.values_list("incident_id", flat=True)) == {incident.pk}
    # The same alert on another environment is another incident.
    post(client, notification(alert(fingerprint="aaaa000000000003", environment="staging")))
    assert Incident.objects.count() == 2


def test_webhook__resolved__closes_row_and_writes_the_incident_timeline(client, seeded):
    firing = alert(fingerprint="bbbb000000000001")
    post(client, notification(firing))
    resolved = {**firing, "status": "resolved", "endsAt": "2026-11-30T22:07:30.5Z"}
    post(client, notification(resolved))
    row = Alert.objects.get()
    assert row.status == "resolved" and row.ends_at.isoformat() == "2026-11-30T22:07:30.500000+00:00"
    assert [e.new_status for e in row.events.all()] == ["firing", "resolved"]
    texts = list(row.incident.timeline.values_list("text", flat=True))
    assert any(t.startswith("Alert resolved: ErrorRate (critical) on Production") for t in texts)
    assert AlertNotification.objects.filter(event="resolved").count() == 1
    # The late duplicate of the old firing notification does not re-open it.
    post(client, notification(firing))
    row.refresh_from_db()
    assert row.status == "resolved"


def test_webhook__refires_after_resolution__joins_open_incident_or_opens_a_new_one(client, seeded):
    first = alert(fingerprint="cccc000000000001")
    post(client, notification(first))
    post(client, notification({**first, "status": "resolved", "endsAt": "2026-11-30T22:05:00Z"}))
    post(client, notification({**first, "startsAt": "2026-11-30T22:10:00Z"}))
    row = Alert.objects.get()
    assert row.status == "firing"
    assert Incident.objects.count() == 1  # still open: joined


def test_webhook__one_thousand_alerts__ingested_in_a_few_queries(client, seeded, django_assert_max_num_queries):
    body = notification(*[alert(name="DiskUsage", severity="warning", fingerprint=f"{i:016x}", instance=f"n{i}")
                          for i in range(1000)])  # fmt: skip
    with django_assert_max_num_queries(30):
        response = post(client, body)
    assert response.json()["created"] == 1000
    assert AlertEvent.objects.count() == 1000
    assert AlertNotification.objects.get().alerts.count() == 1000
