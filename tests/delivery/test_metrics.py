"""The four keys against the figures worked out by hand in conftest.py."""

import random
from datetime import timedelta

import pytest
from django.db import connection

from delivery import metrics
from delivery.choices import Metric
from delivery.sql import percentiles
from deployments.models import ReleaseCommit

pytestmark = pytest.mark.django_db


def keys(history, environment=None, days=30):
    return metrics.four_keys(metrics.period(environment or history.production, days, end=history.now))


def test_deployment_frequency__succeeded_in_period_per_day_and_week(history):
    f = keys(history)[Metric.DEPLOYMENT_FREQUENCY]
    assert f["deployments"] == 6
    assert f["per_day"] == pytest.approx(0.2) and f["per_week"] == pytest.approx(1.4)
    assert f["band"].band == "high"


def test_lead_time__median_and_p90_from_commit_to_first_success(history):
    lead = keys(history)[Metric.LEAD_TIME]
    assert lead["changes"] == 6  # the release deployed twice counts its commit once
    assert lead["median_seconds"] == pytest.approx(4 * 3600, abs=1)
    assert lead["p90_seconds"] == pytest.approx(17.5 * 3600, abs=1)
    assert lead["band"].band == "high"


def test_change_failure_rate__rolled_back_or_incident_within_24h(history):
    cfr = keys(history)[Metric.CHANGE_FAILURE_RATE]
    assert (cfr["failures"], cfr["deployments"]) == (2, 7)
    assert cfr["percent"] == pytest.approx(200 / 7)
    assert cfr["by_kind"] == {"rolled_back": 1, "incident": 1}
    assert cfr["band"].band == "high"


def test_time_to_restore__incidents_caused_by_a_change(history):
    restore = keys(history)[Metric.TIME_TO_RESTORE]
    assert (restore["incidents"], restore["restored"]) == (3, 3)  # the unlinked incident is not a change's
    assert restore["median_seconds"] == pytest.approx(30 * 60, abs=1)
    assert restore["p90_seconds"] == pytest.approx(198 * 60, abs=1)
    assert restore["band"].band == "elite"


def test_seven_days__only_the_last_week(history):
    k = keys(history, days=7)
    assert k[Metric.DEPLOYMENT_FREQUENCY]["deployments"] == 4  # v1.1, v1.1 again, v1.2, v1.3
    assert (k[Metric.CHANGE_FAILURE_RATE]["failures"], k[Metric.CHANGE_FAILURE_RATE]["deployments"]) == (2, 5)
    # v1.1 (25 h), v1.2 (0.5 h), v1.3 (10 h): the median is 10 h
    assert k[Metric.LEAD_TIME]["median_seconds"] == pytest.approx(10 * 3600, abs=1)


def test_no_deployments_in_the_period__zeros_and_no_band(seeded, env):
    k = metrics.four_keys(metrics.period(env("dev"), 90))
    assert k[Metric.DEPLOYMENT_FREQUENCY]["deployments"] == 0 and k[Metric.DEPLOYMENT_FREQUENCY]["per_day"] == 0
    assert k[Metric.LEAD_TIME]["median_seconds"] is None and k[Metric.LEAD_TIME]["band"] is None
    assert k[Metric.CHANGE_FAILURE_RATE]["percent"] is None and k[Metric.CHANGE_FAILURE_RATE]["band"] is None
    assert k[Metric.TIME_TO_RESTORE]["median_seconds"] is None


def test_bands_are_editable_data(history):
    from delivery.models import PerformanceBand

    PerformanceBand.objects.filter(metric=Metric.CHANGE_FAILURE_RATE, band="elite").update(limit=30)
    assert keys(history)[Metric.CHANGE_FAILURE_RATE]["band"].band == "elite"


def test_trend__weekly_counts_and_medians(history):
    rows = metrics.trend(history.production, end=history.now)
    assert len(rows) == 26
    assert sum(r["deployments"] for r in rows) == 7  # the six in 30 days and the one 40 days back
    last = rows[-1]  # the last 7 days
    assert last["deployments"] == 4 and last["failure_percent"] == pytest.approx(40.0)
    assert last["lead_median_seconds"] == pytest.approx(10 * 3600, abs=1)
    assert rows[-2]["deployments"] == 1  # v1.0, 10 days back
    assert rows[-3]["deployments"] == 1 and rows[-3]["restore_median_seconds"] == pytest.approx(1800, abs=1)


def test_percentiles_match_postgresql_percentile_cont(history):
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    values = [rng.uniform(0, 1e6) for _ in range(58)]
    release = history.rolled_back.release
    ReleaseCommit.objects.all().delete()
    for i, v in enumerate(values):
        ReleaseCommit.objects.create(release=release, sha=f"{i:012x}", committed_at=history.now - timedelta(seconds=v))
    samples = ReleaseCommit.objects.annotate(
        v=metrics.Seconds(metrics.Value(history.now, output_field=metrics.DateTimeField()), metrics.F("committed_at"))
    ).values("v")
    n, found = percentiles(samples)[None]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (%s - committed_at))), "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (%s - committed_at))) "
            "FROM deployments_releasecommit",
            [history.now, history.now],
        )
        median, p90 = cursor.fetchone()
    assert n == 58
    assert found[50] == pytest.approx(float(median), abs=1e-3) and found[90] == pytest.approx(float(p90), abs=1e-3)


@pytest.mark.parametrize("days", [7, 30, 90])
def test_page_figures__with_trend_equals_four_keys_and_trend(history, days):
    p = metrics.period(history.production, days, end=history.now)
    keys, rows = metrics.with_trend(p)
    assert keys == metrics.four_keys(p)
    assert rows == metrics.trend(history.production, end=history.now)
