"""Load-balancer samples 30 days raw, then hourly for 13 months: the counters' increase per hour across reloads,
the worst and mean p95 and the last weight; a deployment's chart drawn from the hours once its samples are gone."""

from datetime import UTC, datetime, timedelta

import pytest

from deployments import progress
from deployments.metrics import window_rate
from deployments.models import Deployment, MetricSample, MetricSampleHourly, Release
from deployments.rollups import MetricSampleRollup
from retention import services
from retention.models import RetentionPolicy

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 10, 37, tzinfo=UTC)
DAY = datetime(2026, 10, 22, tzinfo=UTC)  # 40 days before NOW


@pytest.fixture
def deployment(production):
    blue, green = production.slots.get(color="blue"), production.slots.get(color="green")
    release = Release.objects.create(version="v2.0", ref="v2.0", ref_kind="tag")
    return Deployment.objects.create(release=release, environment=production, status="succeeded", from_slot=blue,
                                     to_slot=green, started_at=DAY, finished_at=DAY + timedelta(hours=3),
                                     traffic_weight=100)  # fmt: skip


def three_hours_of_samples(deployment):
    """The new slot every 10 minutes from 00:00 to 02:50: 100 requests and one 5xx per sample, HAProxy reloaded
    at 01:30 (counters restart at 50 and 0); weight 10, 50, 100 by hour; p95 0.1 s, 0.4 s at 01:50. The old slot
    once, at 00:05."""
    rows = []
    for k in range(18):
        reloaded = k >= 9
        rows.append(MetricSample(
            deployment=deployment, slot=deployment.to_slot, taken_at=DAY + timedelta(minutes=10 * k),
            req_tot=50 + 100 * (k - 9) if reloaded else 100 * k, hrsp_5xx=k - 9 if reloaded else k,
            weight=(10, 50, 100)[k // 6], p95_seconds=0.4 if k == 11 else 0.1,
        ))  # fmt: skip
    rows.append(MetricSample(deployment=deployment, slot=deployment.from_slot, taken_at=DAY + timedelta(minutes=5),
                             req_tot=7, hrsp_5xx=0, weight=90))  # fmt: skip
    MetricSample.objects.bulk_create(rows)
    return rows[:18]


def hours(slot):
    return list(MetricSampleHourly.objects.filter(slot=slot).order_by("hour").values_list(
        "hour", "samples", "requests", "errors", "p95_max", "last_weight"))  # fmt: skip


def test_prune__samples_40_days_old__hourly_increase_across_the_reload__raw_deleted(deployment):
    samples = three_hours_of_samples(deployment)
    policy = RetentionPolicy.objects.get(table="deployments.MetricSample")
    run = services.prune(policy_id=policy.pk, now=NOW)
    assert hours(deployment.to_slot) == [
        (DAY, 6, 600, 6, 0.1, 10),
        (DAY + timedelta(hours=1), 6, 550, 5, 0.4, 50),  # 01:20 → 01:30 across the reload counts the new 50
        (DAY + timedelta(hours=2), 6, 500, 5, 0.1, 100),  # the last sample has no next one: nothing after it
    ]
    assert sum(h[2] for h in hours(deployment.to_slot)) == window_rate(samples).requests  # as the engine counts
    assert hours(deployment.from_slot) == [(DAY, 1, 0, 0, None, 90)]
    assert MetricSampleHourly.objects.get(slot=deployment.to_slot, hour=DAY).p95_avg == pytest.approx(0.1)
    assert not MetricSample.objects.exists() and (run.removed, run.rolled_up) == (19, 4)


def test_roll__twice__same_numbers(deployment):
    three_hours_of_samples(deployment)
    assert MetricSampleRollup().roll(DAY, DAY + timedelta(hours=3)) == 4
    first = hours(deployment.to_slot)
    assert MetricSampleRollup().roll(DAY, DAY + timedelta(hours=3)) == 4
    assert hours(deployment.to_slot) == first and MetricSample.objects.count() == 19


def test_roll__an_hour_alone__its_last_sample_counts_up_to_the_next_hours_first(deployment):
    three_hours_of_samples(deployment)
    MetricSampleRollup().roll(DAY, DAY + timedelta(hours=1))
    assert hours(deployment.to_slot) == [(DAY, 6, 600, 6, 0.1, 10)]


def test_chart__raw_samples_pruned__drawn_hour_by_hour_from_the_rollups(deployment):
    three_hours_of_samples(deployment)
    raw = progress.series(deployment)
    assert len(raw) == 17 and raw[0].error_rate == pytest.approx(1.0)
    services.prune(policy_id=RetentionPolicy.objects.get(table="deployments.MetricSample").pk, now=NOW)
    points = progress.series(Deployment.objects.get(pk=deployment.pk))
    assert [(p.seconds, round(p.error_rate, 2), p.p95) for p in points] == [
        (0.0, 1.0, 0.1), (3600.0, round(500 / 550, 2), 0.4), (7200.0, 1.0, 0.1)
    ]  # fmt: skip
    assert "<svg" in progress.svg_chart(deployment)


def test_admin__hourly_samples_read_only_filtered_by_environment(deployment, admin_client):
    three_hours_of_samples(deployment)
    MetricSampleRollup().roll(DAY, DAY + timedelta(hours=3))
    page = admin_client.get("/admin/deployments/metricsamplehourly/",
                            {"deployment__environment__id__exact": deployment.environment_id})  # fmt: skip
    assert page.status_code == 200 and "550" in page.content.decode()
    assert admin_client.get("/admin/deployments/metricsamplehourly/add/").status_code == 403
