"""The DORA performance bands, as seeded (editable in the admin: Delivery performance → Performance bands).

Source: Accelerate State of DevOps Report 2021 (DORA / Google Cloud), table "Software delivery performance
metric" (the last report with four clusters, elite/high/medium/low, for all four keys). The report gives
ranges in words with gaps between them ("between one day and one week", then "between one month and six
months"); a band here runs up to its upper bound and the next one starts there, so every value has a band.

Deployment frequency is a floor (at least this many succeeded deployments per day); the other three are
ceilings (at most this many hours, or this share in %). An empty limit is the band everything else falls in.
"""

from delivery.choices import Band, Metric

SOURCE = "Accelerate State of DevOps Report 2021 (DORA, Google Cloud): software delivery performance clusters"

DAY, WEEK, MONTH, SIX_MONTHS = 24, 24 * 7, 24 * 30, 24 * 182

# (metric, band, order, limit, what the report says)
BANDS = [
    (Metric.DEPLOYMENT_FREQUENCY, Band.ELITE, 1, 1.0, "On-demand (multiple deploys per day)"),
    (Metric.DEPLOYMENT_FREQUENCY, Band.HIGH, 2, 1 / 30, "Between once per week and once per month"),
    (Metric.DEPLOYMENT_FREQUENCY, Band.MEDIUM, 3, 1 / 182, "Between once per month and once every 6 months"),
    (Metric.DEPLOYMENT_FREQUENCY, Band.LOW, 4, None, "Fewer than once per six months"),
    (Metric.LEAD_TIME, Band.ELITE, 1, 1.0, "Less than one hour"),
    (Metric.LEAD_TIME, Band.HIGH, 2, float(WEEK), "Between one day and one week"),
    (Metric.LEAD_TIME, Band.MEDIUM, 3, float(SIX_MONTHS), "Between one month and six months"),
    (Metric.LEAD_TIME, Band.LOW, 4, None, "More than six months"),
    # The 2021 report puts high, medium and low all at 16-30%; medium ends where the 2019 report's low began.
    (Metric.CHANGE_FAILURE_RATE, Band.ELITE, 1, 15.0, "0%-15%"),
    (Metric.CHANGE_FAILURE_RATE, Band.HIGH, 2, 30.0, "16%-30%"),
    (Metric.CHANGE_FAILURE_RATE, Band.MEDIUM, 3, 45.0, "16%-30% (2021); up to 45% here"),
    (Metric.CHANGE_FAILURE_RATE, Band.LOW, 4, None, "16%-30% (2021); above 45% here"),
    (Metric.TIME_TO_RESTORE, Band.ELITE, 1, 1.0, "Less than one hour"),
    (Metric.TIME_TO_RESTORE, Band.HIGH, 2, float(DAY), "Less than one day"),
    (Metric.TIME_TO_RESTORE, Band.MEDIUM, 3, float(WEEK), "Between one day and one week"),
    (Metric.TIME_TO_RESTORE, Band.LOW, 4, None, "More than six months"),
]
