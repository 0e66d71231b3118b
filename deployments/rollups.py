"""The hourly roll-up of load-balancer samples, registered with retention for "deployments.MetricSample".

Counters are cumulative, so an hour's requests are the sum of deltas from each of its samples to the next one
of the same slot (LEAD, looking up to an hour past the slab, whose rows are still there) and a delta across a
reload counts the new value, as deployments.metrics.window_rate does. One INSERT … SELECT … GROUP BY … ON
CONFLICT DO UPDATE, so PostgreSQL and SQLite (the embedded default) run the same statement but for the hour.
"""

from datetime import timedelta

from django.db import connection

from retention.public import HourlyRollup

_HOUR = {
    "postgresql": "date_trunc('hour', taken_at)",
    "sqlite": "strftime('%%Y-%%m-%%d %%H:00:00', taken_at)",
}

# A subquery, not a WITH: Python's sqlite3 (before 3.12) reports no rowcount for a statement not starting INSERT.
_SQL = """
INSERT INTO deployments_metricsamplehourly
    (deployment_id, slot_id, hour, samples, requests, errors, p95_max, p95_avg, last_weight)
SELECT deployment_id, slot_id, hour, COUNT(*),
       SUM(CASE WHEN next_req IS NULL THEN 0 WHEN next_req >= req_tot THEN next_req - req_tot ELSE next_req END),
       SUM(CASE WHEN next_5xx IS NULL THEN 0 WHEN next_5xx >= hrsp_5xx THEN next_5xx - hrsp_5xx ELSE next_5xx END),
       MAX(p95_seconds), AVG(p95_seconds), MAX(last_weight)
FROM (
    SELECT deployment_id, slot_id, taken_at, req_tot, hrsp_5xx, p95_seconds, {hour} AS hour,
           LEAD(req_tot) OVER w AS next_req, LEAD(hrsp_5xx) OVER w AS next_5xx,
           FIRST_VALUE(weight) OVER (PARTITION BY deployment_id, slot_id, {hour} ORDER BY taken_at DESC, id DESC)
               AS last_weight
    FROM deployments_metricsample
    WHERE taken_at >= %s AND taken_at < %s
    WINDOW w AS (PARTITION BY deployment_id, slot_id ORDER BY taken_at, id)
) AS s
WHERE taken_at < %s
GROUP BY deployment_id, slot_id, hour
ON CONFLICT (deployment_id, slot_id, hour) DO UPDATE SET
    samples = excluded.samples, requests = excluded.requests, errors = excluded.errors,
    p95_max = excluded.p95_max, p95_avg = excluded.p95_avg, last_weight = excluded.last_weight
"""

LOOK_AHEAD = timedelta(hours=1)  # the next sample of a slot still running comes seconds later


class MetricSampleRollup(HourlyRollup):
    hourly = "deployments.MetricSampleHourly"

    def roll(self, start, end) -> int:
        sql = _SQL.format(hour=_HOUR[connection.vendor])
        with connection.cursor() as cursor:
            # As the ORM writes them (SQLite compares text: "…10:00:00" is not >= "…10:00:00+00:00")
            bounds = [connection.ops.adapt_datetimefield_value(at) for at in (start, end + LOOK_AHEAD, end)]
            cursor.execute(sql, bounds)
            return cursor.rowcount
