"""Editing thresholds and the catalog: bad values are refused with a clear message and change nothing."""

import pytest

from monitoring import services
from monitoring.exceptions import MonitoringRefused
from monitoring.models import Metric, ScrapeTarget, Threshold

pytestmark = pytest.mark.django_db


@pytest.fixture
def cpu(seeded, env):
    return Threshold.objects.get(environment=env("production"), metric__key="cpu_usage")


def test_update_threshold__valid__saved(cpu):
    services.update_threshold(threshold_id=cpu.pk, warning="65", critical=95, for_seconds=120)
    cpu.refresh_from_db()
    assert (cpu.warning, cpu.critical, cpu.for_seconds) == (65.0, 95.0, 120)


@pytest.mark.parametrize(
    ("warning", "critical", "message"),
    [
        ("lots", 90, "must be a number"),
        (70, "nan", "finite number"),
        (95, 90, "Warning (95) is beyond critical (90)"),
    ],
)
def test_update_threshold__bad_value__refused_and_unchanged(cpu, warning, critical, message):
    with pytest.raises(MonitoringRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        services.update_threshold(threshold_id=cpu.pk, warning=warning, critical=critical)
    cpu.refresh_from_db()
    assert (cpu.warning, cpu.critical) == (70.0, 90.0)


def test_save_metric__newline_in_promql__refused_and_unchanged(seeded):
    metric = Metric.objects.get(key="error_rate")
    before = metric.promql
    metric.promql = before + "\n- record: injected"
    with pytest.raises(MonitoringRefused, match="newline"):
        services.save_metric(metric=metric)
    assert Metric.objects.get(key="error_rate").promql == before


def test_save_metric__promql_promtool_refuses__refused_and_unchanged(seeded):
    metric = Metric.objects.get(key="request_rate")
    before = metric.promql
    metric.promql = "sum by ($by) (rate(http_requests_total{$labels}[$window])"  # unbalanced
    with pytest.raises(MonitoringRefused, match="promtool refused"):
        services.save_metric(metric=metric)
    assert Metric.objects.get(key="request_rate").promql == before


def test_save_metric__without_environment_selector__refused(seeded):
    metric = Metric.objects.get(key="request_rate")
    metric.promql = "sum(rate(http_requests_total[5m]))"
    with pytest.raises(MonitoringRefused, match=r"\$labels"):
        services.save_metric(metric=metric)


def test_save_target__address_with_newline__refused_nothing_saved(seeded, env):
    target = ScrapeTarget(environment=env("production"), kind="node", address="10.0.0.1:9100\n  - evil:1")
    with pytest.raises(MonitoringRefused, match="host:port"):
        services.save_target(target=target)
    assert not ScrapeTarget.objects.exists()


def test_save_oncall__not_an_address__refused_unchanged(seeded, env):
    from monitoring.models import OnCall

    oncall = OnCall.objects.get(environment=env("production"))
    oncall.email = "ops@amarise.invalid\nBcc: everyone@example.com"
    with pytest.raises(MonitoringRefused):
        services.save_oncall(oncall=oncall)
    assert OnCall.objects.get(environment=env("production")).email == "oncall-production@amarise.invalid"


def test_update_threshold__no_promtool_and_nothing_to_write__saved_as_under_make_run(cpu, settings):
    settings.OPS_MONITORING_PROMTOOL, settings.OPS_MONITORING_CONFIG_DIR = "/nonexistent/promtool", ""
    services.update_threshold(threshold_id=cpu.pk, warning=60, critical=80)
    cpu.refresh_from_db()
    assert (cpu.warning, cpu.critical) == (60.0, 80.0)


def test_update_threshold__no_promtool_but_config_dir__refused_with_how_to_fix(cpu, settings, tmp_path):
    settings.OPS_MONITORING_PROMTOOL, settings.OPS_MONITORING_CONFIG_DIR = "/nonexistent/promtool", str(tmp_path)
    with pytest.raises(MonitoringRefused, match="promtool is not installed"):
        services.update_threshold(threshold_id=cpu.pk, warning=60, critical=80)
    cpu.refresh_from_db()
    assert cpu.warning == 70.0
