"""The DORA bands are seeded from the report named in delivery/strategy.py and stay editable."""

import pytest

from core.seeding import SeedReport
from delivery import seeds, strategy
from delivery.choices import Band, Metric
from delivery.models import PerformanceBand

pytestmark = pytest.mark.django_db


def test_seed__four_bands_per_key():
    seeds.seed(SeedReport())
    assert PerformanceBand.objects.count() == 16 == len(strategy.BANDS)
    for metric in Metric:
        bands = list(PerformanceBand.objects.filter(metric=metric).order_by("order"))
        assert [b.band for b in bands] == [Band.ELITE, Band.HIGH, Band.MEDIUM, Band.LOW]
        assert bands[-1].limit is None  # the band everything else falls in


def test_reseed__keeps_an_operator_edit():
    seeds.seed(SeedReport())
    PerformanceBand.objects.filter(metric=Metric.LEAD_TIME, band=Band.ELITE).update(limit=24)
    report = SeedReport()
    seeds.seed(report)
    assert PerformanceBand.objects.get(metric=Metric.LEAD_TIME, band=Band.ELITE).limit == 24
    assert any("limit" in kept for kept in report.kept)


def test_band_direction__frequency_is_a_floor_the_others_ceilings():
    seeds.seed(SeedReport())
    elite_frequency = PerformanceBand.objects.get(metric=Metric.DEPLOYMENT_FREQUENCY, band=Band.ELITE)
    elite_restore = PerformanceBand.objects.get(metric=Metric.TIME_TO_RESTORE, band=Band.ELITE)
    assert elite_frequency.fits(3) and not elite_frequency.fits(0.5)
    assert elite_restore.fits(0.5) and not elite_restore.fits(2)
