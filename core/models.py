from django.db import models


class SeedRecord(models.Model):
    """What seed_strategy last wrote to a row, so a re-seed can tell an operator's edit from its own.

    Keyed by the seed's lookup rather than the row's id: a row an operator deleted keeps its
    record, and the seed does not bring it back.
    """

    key = models.CharField(max_length=255, unique=True)
    values = models.JSONField(default=dict)
    seeded_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.key
