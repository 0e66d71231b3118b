from core.seeding import seed_row
from delivery import strategy
from delivery.models import PerformanceBand


def seed(report):
    for metric, band, order, limit, description in strategy.BANDS:
        seed_row(
            PerformanceBand,
            lookup={"metric": metric, "band": band},
            values={"order": order, "limit": limit, "description": description},
            report=report,
        )
