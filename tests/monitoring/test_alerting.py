"""The whole path on real parts: a stand-in storefront scraped by Prometheus, the console's rules evaluated,
Alertmanager routing to the console's webhook (the live server), notifications sent by a real Celery worker;
silences made from the admin, in Alertmanager."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from incidents.public import Incident
from monitoring import services
from monitoring.models import Alert, AlertNotification, Metric, ScrapeTarget, Silence, Threshold
from tests.conftest import wait_until
from tests.monitoring.conftest import engine_settings
from tests.monitoring.engines import Storefront

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def storefront():
    front = Storefront(slot="blue")
    yield front
    front.close()


def _firing(severity):
    return Alert.objects.filter(name="ErrorRate", severity=severity, status="firing").first()


def test_storefront_error_rate__warning_notifies__critical_opens_one_incident__recovery_resolves_it(
    worker, seeded_tx, env, engines, live_server, storefront
):
    production = env("production")
    ScrapeTarget.objects.create(environment=production, kind="storefront", address=storefront.address, slot="blue")
    # Short windows so the test runs in seconds; the rules are the ones operators get, with these values.
    Metric.objects.filter(key="error_rate").update(window="10s")
    Threshold.objects.filter(environment=production).update(for_seconds=1)
    webhook = f"{live_server.url}/api/alerts/alertmanager/"
    with engine_settings(engines, OPS_MONITORING_WEBHOOK_URL=webhook):
        services.apply_configuration()

        storefront.error_percent = 2
        warning = wait_until(lambda: _firing("warning"), timeout=90, what="the 2 % warning to reach the console")
        sent = wait_until(lambda: AlertNotification.objects.filter(alerts=warning, ok=True).first(), timeout=30,
                          what="the on-call notification")  # fmt: skip
        assert sent.recipients == "oncall-production@amarise.invalid" and sent.event == "firing"
        assert warning.labels["environment"] == "production" and warning.incident is None
        assert not Incident.objects.exists()

        storefront.error_percent = 8
        critical = wait_until(lambda: _firing("critical"), timeout=90, what="the 8 % critical alert")
        incident = Incident.objects.get()
        assert incident.environment == production and incident.severity.key == "critical"
        assert critical.incident_id == incident.pk

        storefront.error_percent = 0
        wait_until(lambda: Alert.objects.get(pk=critical.pk).status == "resolved", timeout=120,
                   what="the critical alert to resolve")  # fmt: skip
        texts = " ".join(incident.timeline.values_list("text", flat=True))
        assert "Opened by the critical alert ErrorRate" in texts
        assert "Alert resolved: ErrorRate (critical) on Production" in texts
        assert Incident.objects.count() == 1


def _push(alertmanager, **labels):
    """What Prometheus does: post a firing alert to Alertmanager's API."""
    now = datetime.now(UTC)
    body = [{"labels": {"alertname": "DiskUsage", "severity": "warning", "environment": "production", **labels},
             "annotations": {"summary": f"Disk on {labels.get('instance')} above 70 %"},
             "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat()}]  # fmt: skip
    requests.post(f"{alertmanager.url}/api/v2/alerts", json=body, timeout=5).raise_for_status()


def _notified(alert):
    return AlertNotification.objects.filter(alerts=alert, event="firing").count()


def test_silence_from_admin__in_alertmanager__nothing_sent_during_it__resumes_after_expiry(
    worker, seeded_tx, engines, live_server, client, make_user
):
    webhook = f"{live_server.url}/api/alerts/alertmanager/"
    with engine_settings(engines, OPS_MONITORING_WEBHOOK_URL=webhook):
        services.apply_configuration()
        _push(engines["alertmanager"], instance="db-1")
        noisy = wait_until(lambda: Alert.objects.filter(labels__instance="db-1").first(), timeout=30,
                           what="db-1's alert")  # fmt: skip
        assert _notified(noisy) == 1

        ops = make_user("ops-oncall", "monitoring.view_alert", "monitoring.change_alert", "monitoring.operate_alert")
        client.force_login(ops)
        response = client.post("/admin/monitoring/alert/", {"action": "silence_1h", "_selected_action": [noisy.pk],
                                                            "silence_reason": "db-1 disk being grown"})  # fmt: skip
        assert response.status_code == 302
        silence = Silence.objects.get()
        in_alertmanager = {s["id"]: s for s in engines["alertmanager"].silences()}[silence.alertmanager_id]
        assert in_alertmanager["status"]["state"] == "active"
        assert in_alertmanager["comment"] == "db-1 disk being grown" and in_alertmanager["createdBy"] == "ops-oncall"
        assert {"name": "instance", "value": "db-1", "isRegex": False, "isEqual": True} in in_alertmanager["matchers"]
        noisy.refresh_from_db()
        assert noisy.status == "silenced"
        page = client.get("/admin/monitoring/alert/").content.decode()
        assert "by ops-oncall until" in page and "db-1 disk being grown" in page

        # Another alert of the same group fires: its notification comes, without the silenced one.
        _push(engines["alertmanager"], instance="db-2")
        other = wait_until(lambda: Alert.objects.filter(labels__instance="db-2").first(), timeout=30,
                           what="db-2's alert")  # fmt: skip
        assert list(AlertNotification.objects.get(alerts=other).alerts.all()) == [other]
        assert _notified(noisy) == 1

        services.expire_silence(silence_id=silence.pk, user=ops)
        states = {s["id"]: s["status"]["state"] for s in engines["alertmanager"].silences()}
        assert states[silence.alertmanager_id] == "expired"
        wait_until(lambda: _notified(noisy) == 2, timeout=30, what="db-1 to be notified again after the silence")
        noisy.refresh_from_db()
        assert noisy.status == "firing"
