"""The health probe records each environment's answer; the task runs it on a real worker."""

import pytest
from django.test import override_settings
from django.urls import reverse

from environments.models import Environment, HealthCheck
from environments.services import probe_environment
from environments.tasks import check_environment_health
from tests.conftest import wait_until


def _point(key, url, path="/"):
    Environment.objects.filter(key=key).update(url=url, health_path=path)
    return Environment.objects.get(key=key)


@pytest.mark.django_db
def test_probe__upstream_answers_200__up_with_latency(seeded, upstream):
    env = _point("dev", upstream.url, "/healthz")
    check = probe_environment(env.pk)
    env.refresh_from_db()
    assert (check.status, check.http_status, check.detail) == ("up", 200, "HTTP 200")
    assert env.last_health_status == "up" and env.last_health_latency_ms >= 0
    assert env.last_health_checked_at == check.checked_at
    assert upstream.hits == 1


@pytest.mark.django_db
def test_probe__upstream_answers_503__down(seeded, upstream):
    upstream.status = 503
    env = _point("staging", upstream.url)
    probe_environment(env.pk)
    env.refresh_from_db()
    assert (env.last_health_status, env.last_health_detail) == ("down", "HTTP 503")


@pytest.mark.django_db
def test_probe__nothing_listening__down_with_reason(seeded, upstream):
    url = upstream.url
    upstream.close()
    env = _point("dev", url)
    check = probe_environment(env.pk, timeout=2)
    assert check.status == "down" and check.http_status is None and check.latency_ms is None
    assert check.detail.startswith("connection failed")


@pytest.mark.django_db
def test_probe__history__pruned_to_the_configured_length(seeded, upstream):
    env = _point("dev", upstream.url)
    with override_settings(OPS_HEALTH_CHECK_HISTORY=3):
        for _ in range(5):
            probe_environment(env.pk)
    assert HealthCheck.objects.filter(environment=env).count() == 3


@pytest.mark.worker
def test_task__on_a_real_worker__records_the_check(worker, seeded_tx, upstream):
    env = _point("dev", upstream.url)
    result = check_environment_health.delay(env.pk).get(timeout=30)
    env.refresh_from_db()
    assert result == "dev: up (HTTP 200)"
    assert env.last_health_status == "up"


@pytest.mark.worker
def test_task__without_id__fans_out_to_every_probed_environment(worker, seeded_tx, upstream):
    for key in ("dev", "staging", "production"):
        _point(key, upstream.url)
    assert check_environment_health.delay().get(timeout=30) == "enqueued 3 probes"
    wait_until(lambda: HealthCheck.objects.filter(status="up").count() == 3, what="three probes recorded by the worker")
    assert not HealthCheck.objects.filter(environment__key="local").exists()


@pytest.mark.worker
def test_admin_action__run_health_check_now__worker_records_it(worker, seeded_tx, upstream, admin_client):
    env = _point("staging", upstream.url)
    response = admin_client.post(
        reverse("admin:environments_environment_changelist"),
        {"action": "run_health_check_now", "_selected_action": [env.pk]},
        follow=True,
    )
    assert "Health check queued for 1 environment" in response.content.decode()
    wait_until(lambda: Environment.objects.get(pk=env.pk).last_health_status == "up", what="the queued health check")


def _probe_alerts(env):
    from monitoring.public import active_alerts

    return list(active_alerts(environment=env, source="environments.probe"))


@pytest.mark.django_db
def test_probe__production_down_then_up__alert_opens_once_then_resolves(seeded, upstream):
    from monitoring.models import Alert

    # Given production (alerting on) behind a stand-in that answers 503
    upstream.status = 503
    env = _point("production", upstream.url)

    # When it is probed twice while down
    probe_environment(env.pk)
    probe_environment(env.pk)

    # Then one critical EnvironmentDown alert fires, with an incident opened by the alert
    (alert,) = _probe_alerts(env)
    assert (alert.name, alert.severity) == ("EnvironmentDown", "critical") and "HTTP 503" in alert.summary
    assert alert.incident.opened_by == "alert"

    # When the stand-in recovers and the next probe answers 200
    upstream.status = 200
    probe_environment(env.pk)

    # Then the alert is resolved and the incident's timeline says so
    assert not _probe_alerts(env)
    assert Alert.objects.get(pk=alert.pk).status == "resolved"
    assert alert.incident.timeline.filter(text__startswith="Alert resolved: EnvironmentDown").exists()


@pytest.mark.django_db
def test_probe__staging_unreachable__warning_without_incident(seeded, upstream):
    url = upstream.url
    upstream.close()
    env = _point("staging", url)

    probe_environment(env.pk, timeout=2)

    (alert,) = _probe_alerts(env)
    assert alert.severity == "warning" and alert.incident is None and "connection failed" in alert.summary


@pytest.mark.django_db
def test_probe_environments_command__down__exit_1_naming_it_and_alert_raised(seeded, upstream):
    from django.core.management import CommandError, call_command

    upstream.status = 500
    env = _point("staging", upstream.url)

    with pytest.raises(CommandError, match="Down: staging"):
        call_command("probe_environments", "staging")

    assert len(_probe_alerts(env)) == 1


@pytest.mark.django_db
def test_probe_environments_command__unknown_key__refused_nothing_probed(seeded, upstream):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="Unknown environment prod"):
        call_command("probe_environments", "prod")

    assert not HealthCheck.objects.exists() and upstream.hits == 0
