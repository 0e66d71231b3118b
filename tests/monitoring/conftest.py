import pytest
from django.test import override_settings

from tests.monitoring.engines import Alertmanager, Prometheus

TOKEN = "test-webhook-token-0123456789"


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """One Prometheus and one Alertmanager per test module, reading the directory the console writes."""
    workdir = tmp_path_factory.mktemp("monitoring")
    config_dir = workdir / "config"
    config_dir.mkdir()
    prometheus = Prometheus(workdir, config_dir)
    alertmanager = Alertmanager(workdir, config_dir)
    yield {"prometheus": prometheus, "alertmanager": alertmanager, "config_dir": config_dir}
    alertmanager.stop()
    prometheus.stop()


def engine_settings(engines, **extra):
    return override_settings(
        OPS_MONITORING_CONFIG_DIR=str(engines["config_dir"]),
        OPS_MONITORING_PROMETHEUS_URL=engines["prometheus"].url,
        OPS_MONITORING_ALERTMANAGER_URL=engines["alertmanager"].url,
        OPS_MONITORING_WEBHOOK_TOKEN=TOKEN,
        OPS_MONITORING_SCRAPE_INTERVAL="500ms",
        OPS_MONITORING_EVALUATION_INTERVAL="500ms",
        OPS_MONITORING_GROUP_WAIT="1s",
        OPS_MONITORING_GROUP_INTERVAL="1s",
        **extra,
    )
