"""DORA's vocabulary: the four keys and the four performance bands."""

from django.db import models


class Metric(models.TextChoices):
    DEPLOYMENT_FREQUENCY = "deployment_frequency", "Deployment frequency"
    LEAD_TIME = "lead_time", "Lead time for changes"
    CHANGE_FAILURE_RATE = "change_failure_rate", "Change failure rate"
    TIME_TO_RESTORE = "time_to_restore", "Time to restore service"


class Band(models.TextChoices):
    ELITE = "elite", "Elite"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# The unit a band's limit is written in, and whether a larger value is better.
UNITS = {
    Metric.DEPLOYMENT_FREQUENCY: "deployments per day",
    Metric.LEAD_TIME: "hours",
    Metric.CHANGE_FAILURE_RATE: "%",
    Metric.TIME_TO_RESTORE: "hours",
}
HIGHER_IS_BETTER = {Metric.DEPLOYMENT_FREQUENCY}
