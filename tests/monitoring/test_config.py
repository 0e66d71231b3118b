"""The configuration the console generates, loaded by the real Prometheus and Alertmanager."""

import pytest
import requests
from django.core.management import call_command

from monitoring import config, services
from monitoring.exceptions import ConfigRefused
from monitoring.models import Metric, ScrapeTarget, Threshold
from tests.conftest import wait_until
from tests.monitoring.conftest import TOKEN, engine_settings

pytestmark = pytest.mark.django_db


def _alert_rules(prometheus):
    return {
        (rule["name"], rule["labels"]["environment"], rule["labels"]["severity"]): rule
        for group in prometheus.rules()
        for rule in group["rules"]
        if rule["type"] == "alerting"
    }


def test_apply__rules_pass_promtool_and_prometheus_lists_every_threshold(seeded, engines):
    with engine_settings(engines):
        result = services.apply_configuration()
    assert "Prometheus reloaded" in result and "Alertmanager reloaded" in result
    rules = _alert_rules(engines["prometheus"])
    thresholds = Threshold.objects.select_related("metric", "environment")
    assert len(rules) == 2 * thresholds.count() == 10
    for t in thresholds:
        for severity in ("warning", "critical"):
            rule = rules[(t.metric.alert_name, t.environment.key, severity)]
            assert rule["duration"] == 300
            assert float(rule["query"].rpartition(" > ")[2]) == getattr(t, severity)
    recorded = {r["name"] for g in engines["prometheus"].rules() for r in g["rules"] if r["type"] == "recording"}
    assert recorded == {m.record for m in Metric.objects.all()}


def test_apply__alertmanager_routes_by_severity_to_the_console_with_a_bearer_token(seeded, engines):
    with engine_settings(engines, OPS_MONITORING_WEBHOOK_URL="http://127.0.0.1:1/api/alerts/alertmanager/"):
        services.apply_configuration()
    status = requests.get(f"{engines['alertmanager'].url}/api/v2/status", timeout=5).json()
    original = status["config"]["original"]
    assert 'severity="critical"' in original and "console-critical" in original
    assert "http://127.0.0.1:1/api/alerts/alertmanager/" in original
    assert TOKEN not in original  # the token lives in its own file, 0600
    token_file = engines["config_dir"] / config.TOKEN_FILE
    assert token_file.read_text() == TOKEN and oct(token_file.stat().st_mode & 0o777) == "0o600"


def test_apply__scrape_targets_per_environment_with_labels(seeded, env, engines):
    ScrapeTarget.objects.create(environment=env("production"), kind="storefront", address="127.0.0.1:9", slot="blue")
    ScrapeTarget.objects.create(environment=env("dev"), kind="node", address="127.0.0.1:8")  # dev: not monitored
    with engine_settings(engines):
        services.apply_configuration()
    targets = wait_until(engines["prometheus"].targets, timeout=10, what="Prometheus' targets")
    assert [(t["labels"]["environment"], t["labels"]["slot"], t["labels"]["job"]) for t in targets] == [
        ("production", "blue", "production-storefront")
    ]


def test_scrape_configs__haproxy_endpoint__its_blue_green_servers_become_slots(seeded, env):
    ScrapeTarget.objects.create(environment=env("production"), kind="haproxy", address="lb-1:8405")
    (job,) = config.scrape_configs()
    assert job["job_name"] == "production-haproxy"
    assert job["static_configs"] == [{"targets": ["lb-1:8405"], "labels": {"environment": "production"}}]
    assert job["metric_relabel_configs"] == [
        {"source_labels": ["server"], "regex": "(blue|green)", "target_label": "slot", "replacement": "$1"}
    ]


def test_apply__refused_value__nothing_written(seeded, engines):
    with engine_settings(engines):
        services.apply_configuration()
    before = {p: p.read_text() for p in engines["config_dir"].rglob("*.yml")}
    Threshold.objects.filter(metric__key="cpu_usage").update(warning=71)  # would change the rules...
    with engine_settings(engines, OPS_MONITORING_WEBHOOK_URL="http://console/\n  evil: true"):
        with pytest.raises(ConfigRefused, match="newline"):
            services.apply_configuration()
    assert {p: p.read_text() for p in engines["config_dir"].rglob("*.yml")} == before  # ...but nothing was written


def test_update_threshold__on_commit__prometheus_gets_the_new_rule(
    seeded, env, engines, django_capture_on_commit_callbacks
):
    from amarise_ops.celery import app

    threshold = Threshold.objects.get(environment=env("production"), metric__key="error_rate")
    app.conf.task_always_eager = True
    try:
        with engine_settings(engines), django_capture_on_commit_callbacks(execute=True) as callbacks:
            services.update_threshold(threshold_id=threshold.pk, warning=2, critical=6)
    finally:
        app.conf.task_always_eager = False
    assert len(callbacks) == 1
    rule = _alert_rules(engines["prometheus"])[("ErrorRate", "production", "critical")]
    assert float(rule["query"].rpartition(" > ")[2]) == 6.0


def test_export_monitoring__writes_checked_files_for_git_without_the_token(seeded, tmp_path, engines):
    with engine_settings(engines):
        call_command("export_monitoring", "--output", str(tmp_path))
    names = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert names == {
        config.PROMETHEUS_FILE,
        config.RECORDING_FILE,
        config.ALERTING_FILE,
        config.ALERTMANAGER_FILE,
        config.EXPORTER_QUERIES_FILE,
    }
    assert TOKEN not in "".join((tmp_path / n).read_text() for n in names)
    assert "amarise:error_rate" in (tmp_path / config.RECORDING_FILE).read_text()


def test_apply_unforced__nothing_changed__left_alone__environment_alerting_on__rules_follow(seeded, env, engines):
    with engine_settings(engines):
        services.apply_configuration()
        assert services.apply_configuration(force=False).startswith("unchanged")
        staging = env("staging")
        staging.alerting_enabled = True
        staging.save(update_fields=["alerting_enabled"])
        from core.seeding import seed_all

        seed_all()  # the staging thresholds, from the §8 table
        assert "Prometheus reloaded" in services.apply_configuration(force=False)
    assert ("ErrorRate", "staging", "critical") in _alert_rules(engines["prometheus"])


def test_sync_silences__made_outside_the_console__alert_marked_with_who_until_why__expiry_clears_it(
    seeded, env, engines
):
    from datetime import UTC, datetime, timedelta
    from io import StringIO

    from monitoring.models import Alert, AlertNotification, Silence

    am = engines["alertmanager"].url
    now = datetime.now(UTC)
    labels = {"alertname": "DiskUsage", "severity": "warning", "environment": "production", "instance": "db-9"}
    with engine_settings(engines):
        services.apply_configuration()
        requests.post(f"{am}/api/v2/alerts", json=[{"labels": labels, "startsAt": now.isoformat(),
                      "endsAt": (now + timedelta(hours=1)).isoformat()}], timeout=5).raise_for_status()  # fmt: skip
        fingerprint = wait_until(lambda: next((a["fingerprint"] for a in engines["alertmanager"].alerts()
                                               if a["labels"].get("instance") == "db-9"), None),
                                 timeout=10, what="the alert in Alertmanager")  # fmt: skip
        alert = Alert.objects.create(fingerprint=fingerprint, name="DiskUsage", environment=env("production"),
                                     severity="warning", labels=labels, starts_at=now)  # fmt: skip
        # Someone silences it with amtool / Alertmanager's UI: its API v2, not the console.
        ends = now + timedelta(hours=2)
        silence_id = requests.post(f"{am}/api/v2/silences", timeout=5, json={
            "matchers": [{"name": "instance", "value": "db-.*", "isRegex": True, "isEqual": True}],
            "startsAt": now.isoformat(), "endsAt": ends.isoformat(), "createdBy": "alice@ops",
            "comment": "grow the disk"}).json()["silenceID"]  # fmt: skip

        out = StringIO()
        call_command("sync_silences", stdout=out)
        assert "1 new here" in out.getvalue() and "1 alerts marked silenced" in out.getvalue()
        alert.refresh_from_db()
        assert alert.status == "silenced" and alert.silence.alertmanager_id == silence_id
        assert (alert.silence.who, alert.silence.comment) == ("alice@ops", "grow the disk")
        assert abs((alert.silence.ends_at - ends).total_seconds()) < 1
        assert "by alice@ops until" in alert.events.last().reason
        assert services.sync_silences().endswith("0 alerts marked silenced, 0 silences ended here, "
                                                 "0 alerts firing again, 0 resolved")  # idempotent  # fmt: skip

        requests.delete(f"{am}/api/v2/silence/{silence_id}", timeout=5).raise_for_status()
        services.sync_silences()
    alert.refresh_from_db()
    assert alert.status == "firing" and alert.silence is None
    assert Silence.objects.get(alertmanager_id=silence_id).expired_at is not None
    assert AlertNotification.objects.filter(alerts=alert, event="firing").exists()  # on-call told it fires again
