"""The environment-data app's front door: what other apps may use. Nothing else is imported across apps."""

from datetime import datetime, timedelta

from refreshes.choices import RunStatus
from refreshes.models import RefreshRun

# §2: staging is refreshed from production weekly (beat, Sunday 02:00 UTC).
STAGING_REFRESH_PERIOD = timedelta(days=7)


def last_refreshed(environment) -> datetime | None:
    """When the environment's data was last refreshed successfully (a staging refresh, a dev reset), or None."""
    runs = RefreshRun.objects.filter(environment=environment, status=RunStatus.SUCCEEDED, finished_at__isnull=False)
    return runs.order_by("-finished_at", "-id").values_list("finished_at", flat=True).first()


__all__ = ["STAGING_REFRESH_PERIOD", "last_refreshed"]
