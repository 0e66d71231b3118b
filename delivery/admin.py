from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from delivery.models import PerformanceBand


@admin.register(PerformanceBand)
class PerformanceBandAdmin(SimpleHistoryAdmin):
    """The DORA thresholds: seeded from the report named in delivery/strategy.py, edited here."""

    list_display = ["metric", "band", "order", "limit", "unit", "description"]
    list_editable = ["limit"]
    list_filter = ["metric"]
    ordering = ["metric", "order"]
