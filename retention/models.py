"""Retention as data: how long each growing table keeps its rows, and a row per prune run showing what went.

A policy names a model by its label ("backups.RpoCheck") and the datetime field that ages its rows. Rows older
than `keep_days` are deleted by the prune job in batches; a policy without `keep_days` keeps everything (an
event or history table, indexed so it never slows a page) and is listed so that the choice is visible.

A table whose app registers an hourly roll-up (retention.rollups) can keep its history longer than its raw rows:
with `rollup_keep_days` set, every complete hour is rolled up before its raw rows go, and roll-ups older than
that period are pruned in turn ("raw 30 days, hourly for 13 months").
"""

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

from retention.rollups import ROLLUPS


class RetentionPolicy(models.Model):
    table = models.CharField(max_length=100, unique=True, help_text='The model\'s label, e.g. "backups.RpoCheck".')
    time_field = models.CharField(max_length=60, help_text="The datetime field that ages a row.")
    keep_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Rows older than this many days are pruned; empty keeps every row."
    )
    rollup_keep_days = models.PositiveIntegerField(
        "roll-ups kept (days)", null=True, blank=True,
        help_text="Hourly roll-ups of the pruned rows are kept this many days; empty: no roll-up.",
    )  # fmt: skip
    batch_size = models.PositiveIntegerField(default=5000, help_text="Rows deleted per batch (one short transaction).")
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["table"]
        verbose_name_plural = "retention policies"
        permissions = [("run_prune", "Can run a prune by hand")]

    def __str__(self):
        kept = f"{self.keep_days} days" if self.keep_days else "kept"
        return f"{self.table}: {kept}"

    @property
    def rolls_up(self) -> bool:
        return bool(self.rollup_keep_days)

    def model(self):
        try:
            return apps.get_model(self.table)
        except (LookupError, ValueError):
            return None

    def clean(self):
        if self.batch_size is not None and not 1 <= self.batch_size <= 100_000:
            raise ValidationError({"batch_size": "Choose a batch of 1 to 100,000 rows."})
        model = self.model()
        if model is None:
            raise ValidationError({"table": f"No model is labelled {self.table!r}: use app_label.ModelName."})
        try:
            field = model._meta.get_field(self.time_field)
        except FieldDoesNotExist:
            raise ValidationError({"time_field": f"{self.table} has no field {self.time_field!r}."}) from None
        if field.get_internal_type() != "DateTimeField":
            raise ValidationError({"time_field": f"{self.table}.{self.time_field} is not a date and time."})
        if self.keep_days == 0:
            raise ValidationError({"keep_days": "Keep rows at least 1 day, or leave it empty to keep them all."})
        if self.rollup_keep_days is not None:
            self._clean_rollup()

    def _clean_rollup(self):
        if self.table not in ROLLUPS:
            known = ", ".join(ROLLUPS.kinds()) or "none"
            raise ValidationError({"rollup_keep_days": f"{self.table} has no hourly roll-up (tables with one: "
                                                       f"{known}); leave it empty."})  # fmt: skip
        if not self.keep_days:
            raise ValidationError({"rollup_keep_days": "Roll-ups are made from the rows pruned: set the days raw "
                                                       "rows are kept first."})  # fmt: skip
        if not self.keep_days <= self.rollup_keep_days <= 3660:
            raise ValidationError({"rollup_keep_days": f"Keep roll-ups from {self.keep_days} days (the raw rows' "
                                                       "period) to 3660 days (ten years)."})  # fmt: skip


class PruneRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    policy = models.ForeignKey(RetentionPolicy, on_delete=models.CASCADE, related_name="runs")
    table = models.CharField(max_length=100)
    cutoff = models.DateTimeField(help_text="Rows aged before this instant were pruned.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    removed = models.PositiveBigIntegerField(default=0, help_text="Raw rows deleted.")
    rolled_up = models.PositiveIntegerField(
        "hours rolled up", default=0, help_text="Hourly roll-up rows written (one per series and hour)."
    )
    rollups_removed = models.PositiveBigIntegerField(
        default=0, help_text="Roll-up rows older than their period deleted."
    )
    batches = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    error = models.TextField(blank=True)
    started_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["-started_at", "-id"], name="prune_run_newest")]

    def __str__(self):
        return f"{self.table} at {self.started_at:%Y-%m-%d %H:%M}: {self.removed} removed"
