"""The hourly roll-up of RPO checks, registered with retention for "backups.RpoCheck" (see BackupsConfig.ready)."""

from datetime import UTC

from django.db.models import Count, Max, Q
from django.db.models.functions import Trunc

from backups.models import RpoCheck, RpoCheckHourly
from retention.public import HourlyRollup

FIGURES = ["checks", "failed", "archiving_failing", "loss_unknown", "worst_case_loss", "unarchived_bytes"]


class RpoCheckRollup(HourlyRollup):
    hourly = "backups.RpoCheckHourly"

    def roll(self, start, end) -> int:
        # One GROUP BY date_trunc('hour') in the database; a slab's few hundred sums are upserted in one statement.
        rows = (
            RpoCheck.objects.filter(checked_at__gte=start, checked_at__lt=end)
            .order_by()
            .annotate(hour=Trunc("checked_at", "hour", tzinfo=UTC))
            .values("database_id", "hour")
            .annotate(
                checks=Count("id"),
                failed=Count("id", filter=Q(ok=False)),
                archiving_failing=Count("id", filter=Q(archiving_failing=True)),
                loss_unknown=Count("id", filter=Q(worst_case_loss__isnull=True)),
                worst_case_loss=Max("worst_case_loss"),
                unarchived_bytes=Max("unarchived_bytes"),
            )
        )
        hours = [RpoCheckHourly(**row) for row in rows]
        RpoCheckHourly.objects.bulk_create(hours, update_conflicts=True, unique_fields=["database", "hour"],
                                           update_fields=FIGURES)  # fmt: skip
        return len(hours)
