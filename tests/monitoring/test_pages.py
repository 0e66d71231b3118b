"""The monitoring page per environment, the alerts list and the dashboard card."""

import pytest

from monitoring import alerts, services
from monitoring.models import Alert, Metric, ScrapeTarget, Threshold
from tests.conftest import wait_until
from tests.monitoring.conftest import engine_settings
from tests.monitoring.engines import Storefront

pytestmark = pytest.mark.django_db


def _critical(env_obj, name="ErrorRate"):
    alerts.raise_alert(environment=env_obj, name=name, severity="critical", summary="5xx at 8 %", source="test")
    return Alert.objects.get(name=name)


def test_page__no_prometheus__says_how_to_connect_one_and_lists_alerts(client, superuser, seeded, env, settings):
    settings.OPS_MONITORING_PROMETHEUS_URL = ""
    _critical(env("production"))
    client.force_login(superuser)
    page = client.get("/admin/monitoring/alert/page/production/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="connect-prometheus"' in text and "OPS_MONITORING_PROMETHEUS_URL" in text
    assert "ErrorRate" in text and "5xx at 8 %" in text and "ops-chart" not in text


def test_page__viewer_without_login__redirected(client, seeded):
    assert client.get("/admin/monitoring/alert/page/production/").status_code == 302


def test_page__prometheus__a_chart_per_metric_with_threshold_lines(client, superuser, seeded, env, engines):
    production = env("production")
    front = Storefront(slot="blue")
    try:
        ScrapeTarget.objects.create(environment=production, kind="storefront", address=front.address, slot="blue")
        Metric.objects.filter(key="request_rate").update(window="5s")
        with engine_settings(engines):
            services.apply_configuration()
            prometheus = engines["prometheus"]
            from monitoring.drivers import prometheus_engine

            wait_until(lambda: prometheus_engine().value(Metric.objects.get(key="request_rate").query(
                environment="production")), timeout=60, what="Prometheus to have a request rate")  # fmt: skip
            client.force_login(superuser)
            text = client.get("/admin/monitoring/alert/page/production/").content.decode()
    finally:
        front.close()
    assert prometheus.url
    assert text.count('<svg xmlns="http://www.w3.org/2000/svg" class="ops-chart"') == Metric.objects.count()
    error_chart = text.split('data-metric="error_rate"')[1].split("</figure>")[0]
    assert 'class="threshold-warning"' in error_chart and 'class="threshold-critical"' in error_chart
    assert "warning 1</text>" in error_chart and "critical 5</text>" in error_chart
    request_chart = text.split('data-metric="request_rate"')[1].split("</figure>")[0]
    assert '<polyline class="series"' in request_chart and "threshold-" not in request_chart


def test_page__metric_name_with_markup__escaped(client, superuser, seeded, env, engines):
    Metric.objects.filter(key="revenue").update(name="<script>alert(1)</script>")
    with engine_settings(engines):
        client.force_login(superuser)
        text = client.get("/admin/monitoring/alert/page/production/").content.decode()
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text


def test_alert_list__filters_by_environment_severity_status_and_links_the_incident(client, superuser, seeded, env):
    critical = _critical(env("production"))
    alerts.raise_alert(environment=env("staging"), name="CpuUsage", severity="warning", summary="CPU", source="t")
    client.force_login(superuser)
    query = {"severity": "critical", "status": "firing", "environment__id__exact": env("production").pk}
    text = client.get("/admin/monitoring/alert/", query).content.decode()
    assert "ErrorRate" in text and "CpuUsage" not in text
    assert f"/admin/incidents/incident/{critical.incident_id}/change/" in text


def test_acknowledge__from_admin__recorded_with_who(client, make_user, seeded, env):
    row = _critical(env("production"))
    ops = make_user("ack", "monitoring.view_alert", "monitoring.change_alert", "monitoring.operate_alert")
    client.force_login(ops)
    client.post("/admin/monitoring/alert/", {"action": "acknowledge", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.status == "acknowledged" and row.acknowledged_by == ops
    assert row.events.last().user == ops


def test_read_silences_now__admin_action__enqueued_not_run_inline(
    client, make_user, seeded, env, django_capture_on_commit_callbacks, monkeypatch
):
    from core import tasks

    row = _critical(env("production"))
    sent = []
    monkeypatch.setattr(tasks, "_task", lambda name: type("T", (), {"apply_async": lambda *a, **k: sent.append(name)}))
    ops = make_user("sync", "monitoring.view_alert", "monitoring.change_alert", "monitoring.operate_alert")
    client.force_login(ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/monitoring/alert/", {"action": "read_silences", "_selected_action": [row.pk]})
    assert response.status_code == 302 and sent == ["monitoring.sync_silences"]
    viewer = make_user("viewer-sync", "monitoring.view_alert", "monitoring.change_alert")
    client.force_login(viewer)
    client.post("/admin/monitoring/alert/", {"action": "read_silences", "_selected_action": [row.pk]})
    assert sent == ["monitoring.sync_silences"]  # without operate_alert: not offered, nothing queued


def test_acknowledge__without_permission__refused_unchanged(client, make_user, seeded, env):
    row = _critical(env("production"))
    client.force_login(make_user("look", "monitoring.view_alert", "monitoring.change_alert"))
    response = client.post("/admin/monitoring/alert/", {"action": "acknowledge", "_selected_action": [row.pk]},
                           follow=True)  # fmt: skip
    # The action is not offered without monitoring.operate_alert, and posting it does nothing
    assert response.status_code == 200 and 'value="acknowledge"' not in response.content.decode()
    row.refresh_from_db()
    assert row.status == "firing"


def test_threshold_admin__warning_beyond_critical__message_and_unchanged(client, superuser, seeded, env):
    threshold = Threshold.objects.get(environment=env("production"), metric__key="disk_usage")
    client.force_login(superuser)
    response = client.post(f"/admin/monitoring/threshold/{threshold.pk}/change/", {
        "environment": threshold.environment_id, "metric": threshold.metric_id,
        "warning": "90", "critical": "85", "for_seconds": "300"})  # fmt: skip
    assert response.status_code == 200
    assert "Warning (90) is beyond critical (85)" in response.content.decode()
    threshold.refresh_from_db()
    assert (threshold.warning, threshold.critical) == (70.0, 85.0)


def test_dashboard_card__firing_alerts_by_severity_in_colour(client, superuser, seeded, env):
    _critical(env("production"))
    client.force_login(superuser)
    text = client.get("/admin/").content.decode()
    assert "1 critical, 0 warning" in text and "none firing" in text
