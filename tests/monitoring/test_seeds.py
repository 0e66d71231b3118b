"""§8 seeded: the catalog, the thresholds of environments with alerting on, an on-call address each."""

import pytest

from monitoring.models import Metric, OnCall, Threshold

pytestmark = pytest.mark.django_db


def test_catalog__seeded__names_every_metric_of_section_8(seeded):
    keys = set(Metric.objects.values_list("key", flat=True))
    assert {"request_rate", "error_rate", "response_time_p50", "response_time_p95", "response_time_p99",
            "active_users", "orders_per_hour", "cart_abandonment_rate", "checkout_completion_rate", "revenue",
            "cpu_usage", "memory_usage", "database_connections", "cache_hit_rate", "disk_usage"} <= keys  # fmt: skip
    assert set(Metric.objects.values_list("category", flat=True)) == {"application", "business", "infrastructure"}


def test_catalog__promql__templated_by_environment_and_slot(seeded):
    metric = Metric.objects.get(key="error_rate")
    query = metric.query(environment="production", slot="green")
    assert 'environment="production",slot="green"' in query
    assert 'code=~"5.."' in query and "[5m]" in query and "$" not in query
    assert 'environment="production"' in Metric.objects.get(key="response_time_p95").query(environment="production")


def test_thresholds__seeded__table_of_section_8_for_alerting_environments_only(seeded, env):
    production = env("production")
    rows = {
        t.metric.key: (t.warning, t.critical, t.for_seconds) for t in Threshold.objects.filter(environment=production)
    }
    assert rows == {
        "error_rate": (1.0, 5.0, 300),
        "response_time_p95": (1.0, 3.0, 300),
        "cpu_usage": (70.0, 90.0, 300),
        "memory_usage": (75.0, 90.0, 300),
        "disk_usage": (70.0, 85.0, 300),
    }
    assert not Threshold.objects.exclude(environment=production).exists()  # only production alerts (§2)


def test_oncall__seeded__one_address_per_environment(seeded):
    assert OnCall.objects.count() == 4
    assert OnCall.objects.get(environment__key="production").email == "oncall-production@amarise.invalid"


def test_seed__rerun__keeps_an_operator_edit(seeded, env):
    from core.seeding import seed_all

    threshold = Threshold.objects.get(environment=env("production"), metric__key="cpu_usage")
    Threshold.objects.filter(pk=threshold.pk).update(warning=60)
    report = seed_all()
    threshold.refresh_from_db()
    assert threshold.warning == 60
    assert any("warning" in line for line in report.kept)
