from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from delivery.choices import HIGHER_IS_BETTER, UNITS, Band, Metric


class PerformanceBand(models.Model):
    """One DORA band of one key: its limit (seeded from the report named in strategy.py, editable)."""

    metric = models.CharField(max_length=24, choices=Metric.choices)
    band = models.CharField(max_length=8, choices=Band.choices)
    order = models.PositiveSmallIntegerField(help_text="1 is the best band; a value gets the first band it fits.")
    limit = models.FloatField(
        null=True,
        blank=True,
        help_text="Deployment frequency: at least this many per day. Lead time and time to restore: at most this "
        "many hours. Change failure rate: at most this %. Empty: every value not in a better band.",
    )
    description = models.CharField("the report says", max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["metric", "order"]
        constraints = [models.UniqueConstraint(fields=["metric", "band"], name="performance_band_once")]
        permissions = [("view_delivery_metrics", "Can view the DORA page, API figures and CSV exports")]

    def __str__(self):
        return f"{self.get_metric_display()}: {self.get_band_display()}"

    @property
    def unit(self):
        return UNITS[self.metric]

    def fits(self, value) -> bool:
        if self.limit is None:
            return True
        return value >= self.limit if self.metric in HIGHER_IS_BETTER else value <= self.limit

    def clean(self):
        if self.limit is not None and self.limit < 0:
            raise ValidationError({"limit": "A limit cannot be negative."})
