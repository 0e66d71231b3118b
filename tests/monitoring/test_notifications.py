"""A notification that cannot be delivered is retried a bounded number of times and stays visible."""

import pytest

from monitoring import alerts
from monitoring.models import AlertNotification
from monitoring.tasks import deliver_alert_notification
from tests.deployments.standins import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def notification(seeded, env):
    alerts.raise_alert(environment=env("production"), name="CpuUsage", severity="warning", summary="CPU 75 %",
                       source="test")  # fmt: skip
    return AlertNotification.objects.get()


@pytest.fixture
def smtp_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2


def test_deliver__sent__recorded(notification, mailoutbox):
    assert alerts.deliver(notification_id=notification.pk) == "sent to oncall-production@amarise.invalid"
    notification.refresh_from_db()
    assert (notification.ok, notification.attempts, notification.final) == (True, 1, True)
    assert mailoutbox[0].to == ["oncall-production@amarise.invalid"] and "CpuUsage" in mailoutbox[0].subject
    assert alerts.deliver(notification_id=notification.pk) == "already sent"  # a retry never sends twice


def test_deliver__smtp_down__retried_then_given_up_and_shown(notification, smtp_down, settings):
    settings.OPS_MONITORING_NOTIFY_RETRIES = 2
    settings.OPS_MONITORING_NOTIFY_RETRY_SECONDS = 0
    result = deliver_alert_notification.apply(args=[notification.pk]).get()
    assert result.startswith("gave up after 3 attempts")
    notification.refresh_from_db()
    assert (notification.ok, notification.attempts, notification.final) == (False, 3, True)
    assert "ConnectionRefusedError" in notification.error


def test_notify__incident_webhook_configured__signed_alert_webhook_too(seeded, env, settings, monkeypatch):
    import hashlib
    import hmac
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.OPS_INCIDENT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_address[1]}/chat"
        monkeypatch.setenv("OPS_INCIDENT_WEBHOOK_URL", settings.OPS_INCIDENT_WEBHOOK_URL)
        monkeypatch.setenv("OPS_INCIDENT_WEBHOOK_SECRET", "chat-secret")
        alerts.raise_alert(environment=env("production"), name="CpuUsage", severity="warning", summary="CPU 75 %",
                           source="test")  # fmt: skip
        hook = AlertNotification.objects.get(channel="webhook")
        assert AlertNotification.objects.filter(channel="email").count() == 1
        alerts.deliver(notification_id=hook.pk)
    finally:
        server.shutdown()
        server.server_close()
    headers, body = received[0]
    expected = "sha256=" + hmac.new(b"chat-secret", body, hashlib.sha256).hexdigest()
    assert headers["X-Ops-Signature-256"] == expected and headers["X-Ops-Event"] == "alert_firing"
    payload = json.loads(body)
    assert payload["environment"] == "production" and payload["alerts"][0]["name"] == "CpuUsage"
