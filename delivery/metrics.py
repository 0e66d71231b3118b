"""DORA's four keys for one environment and period, computed in the database from the console's own records.

- Deployment frequency: succeeded deployments that finished in the period, per day and per week.
- Lead time for changes: per commit of a release (ReleaseCommit, from the git hook's push events), from its
  timestamp to the moment the release reached 100% in the environment: the `finished_at` of the release's
  *first* succeeded deployment there. The engine marks a deployment succeeded when the final 100% hold has
  passed, and a direct deployment has no traffic steps at all, so `finished_at` is the one instant every
  deployment has for "all traffic, and it stayed" (a release at 100% that rolls back in the final hold never
  reached production). It is later than the weight change by the 100% step's hold. A release deployed twice
  counts once, at its first success; a commit carried by two releases counts for each.
- Change failure rate: of the deployments that reached users (succeeded, or rolled back), the share that
  failed: see FAILURE_KINDS.
- Time to restore: incidents caused by a change (linked to a deployment), from detection (else opening) to the
  end of the rollback's execution, or to resolution when no rollback was executed.

Medians and p90 are percentile_cont values (see sql.percentiles). The period is the last `days` days up to
`end`; a deployment belongs to it by `finished_at`, an incident by `opened_at`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Value
from django.db.models.fields import DateTimeField
from django.db.models.functions import Coalesce
from django.utils import timezone

from delivery.choices import Metric
from delivery.models import PerformanceBand
from delivery.sql import Seconds, WholeWeeks, percentiles, seconds_sql
from deployments.public import Deployment, DeploymentStatus, ReleaseCommit
from incidents.public import Incident

PERIODS = (7, 30, 90)
TREND_WEEKS = 26
# An incident linked to a deployment makes it a failed change when opened within this long after it finished.
INCIDENT_WINDOW = timedelta(hours=24)

SUCCEEDED = Q(status=DeploymentStatus.SUCCEEDED)
ROLLED_BACK = Q(executed_at__isnull=False)  # the engine sets it when all traffic is back on the standby slot

# What makes a deployment a failed change, by kind, in the order the breakdown names them: a deployment is
# counted once, under its first kind. "Switched back" (a later issue) adds its kind here, before "incident",
# and to REACHED_USERS if such deployments end in a status of their own.
FAILURE_KINDS = {
    "rolled_back": ROLLED_BACK,
    "incident": Q(incident__isnull=False, incident__opened_at__lte=F("finished_at") + INCIDENT_WINDOW),
}
FAILURE_LABELS = {"rolled_back": "rolled back", "incident": "otherwise linked to an incident within 24 h"}
# The deployments a change failure rate is a share of.
REACHED_USERS = SUCCEEDED | ROLLED_BACK


def any_failure():
    q = Q(pk__in=[])
    for kind in FAILURE_KINDS.values():
        q |= kind
    return q


def first_kinds():
    """Each kind without the deployments an earlier kind already counts, so the breakdown adds up to the total."""
    kinds, earlier = {}, Q(pk__in=[])
    for name, q in FAILURE_KINDS.items():
        kinds[name] = q & ~earlier
        earlier |= q
    return kinds


@dataclass(frozen=True)
class Period:
    environment: object
    days: int
    start: datetime
    end: datetime


def period(environment, days, *, end=None) -> Period:
    end = end or timezone.now()
    return Period(environment, days, end - timedelta(days=days), end)


def deployments(p: Period):
    """The environment's deployments that finished in the period."""
    return Deployment.objects.filter(environment=p.environment, finished_at__gte=p.start, finished_at__lt=p.end)


def delivering(p: Period):
    """Succeeded deployments in the period that were their release's first success in the environment."""
    earlier = Deployment.objects.filter(
        SUCCEEDED, release_id=OuterRef("release_id"), environment_id=OuterRef("environment_id")
    ).filter(Q(finished_at__lt=OuterRef("finished_at")) | Q(finished_at=OuterRef("finished_at"), pk__lt=OuterRef("pk")))
    return deployments(p).filter(SUCCEEDED).filter(~Exists(earlier))


def lead_time_samples(p: Period, *, week=None):
    """(sql, params): one row per commit delivered in the period, `v` its lead time in seconds (and `grp`, the
    deployment's week, and `at`, its finish, given a `week` expression). The commits join on the deployment's
    release_id directly: through the ORM the join would pass by the releases table, scanning every release."""
    columns = ["release_id", "finished_at"] + (["grp"] if week is not None else [])
    first = delivering(p)
    if week is not None:
        first = first.annotate(grp=week)
    inner, params = first.order_by().values(*columns).query.sql_with_params()
    grp = "d.grp, d.finished_at AS at, " if week is not None else ""
    sql = (
        f"SELECT {grp}{seconds_sql('d.finished_at', 'c.committed_at')} AS v FROM ({inner}) d "  # noqa: S608
        f"INNER JOIN {ReleaseCommit._meta.db_table} c ON c.release_id = d.release_id"
    )
    return sql, params


def restore_incidents(p: Period):
    """Incidents caused by a change (linked to a deployment), opened in the period."""
    return Incident.objects.filter(
        environment=p.environment, deployment__isnull=False, opened_at__gte=p.start, opened_at__lt=p.end
    )


def restore_samples(p: Period):
    return (
        restore_incidents(p)
        .annotate(v=Seconds(Coalesce("executed_at", "resolved_at"), Coalesce("detected_at", "opened_at")))
        .filter(v__isnull=False)
    )


def _count_filters():
    """What each count of the deployments that reached users counts."""
    return {"reached_users": Q(), "succeeded": SUCCEEDED, "failures": any_failure(), **first_kinds()}


def _counts(also=None, prefix="n_"):
    """Count annotations named prefix + name: a bare "incident" would shadow the relation the filters follow."""
    also = also or Q()
    return {
        prefix + name: Count("pk", filter=q & also) if (q & also) else Count("pk")
        for name, q in _count_filters().items()
    }


def _named(row, prefix="n_"):
    return {name: row.get(prefix + name, 0) for name in _count_filters()}


def _band(bands, metric, value):
    if value is None:
        return None
    for band in bands:
        if band.metric == metric and band.fits(value):
            return band
    return None


def _hours(seconds):
    return None if seconds is None else seconds / 3600


def four_keys(p: Period, *, bands=None, counts=None, lead=None, restore=None) -> dict:
    """The four keys for the period: four aggregate queries, plus one for the bands unless given.

    with_trend() passes the counts and (count, percentiles) pairs it computed alongside the weeks."""
    bands = list(PerformanceBand.objects.all()) if bands is None else bands
    counts = counts or _named(deployments(p).filter(REACHED_USERS).aggregate(**_counts()))
    lead_n, lead = lead or percentiles(lead_time_samples(p)).get(None, (0, {}))
    restore_n, restore_p = restore or percentiles(restore_samples(p).values("v")).get(None, (0, {}))
    restore = restore_incidents(p).aggregate(caused=Count("pk"))

    per_day = counts["succeeded"] / p.days
    rate = 100.0 * counts["failures"] / counts["reached_users"] if counts["reached_users"] else None
    return {
        Metric.DEPLOYMENT_FREQUENCY: {
            "deployments": counts["succeeded"],
            "per_day": per_day,
            "per_week": per_day * 7,
            "band": _band(bands, Metric.DEPLOYMENT_FREQUENCY, per_day),
        },
        Metric.LEAD_TIME: {
            "changes": lead_n,
            "median_seconds": lead.get(50),
            "p90_seconds": lead.get(90),
            "band": _band(bands, Metric.LEAD_TIME, _hours(lead.get(50))),
        },
        Metric.CHANGE_FAILURE_RATE: {
            "deployments": counts["reached_users"],
            "failures": counts["failures"],
            "percent": rate,
            "by_kind": {kind: counts[kind] for kind in FAILURE_KINDS},
            "band": _band(bands, Metric.CHANGE_FAILURE_RATE, rate),
        },
        Metric.TIME_TO_RESTORE: {
            "incidents": restore["caused"],
            "restored": restore_n,
            "median_seconds": restore_p.get(50),
            "p90_seconds": restore_p.get(90),
            "band": _band(bands, Metric.TIME_TO_RESTORE, _hours(restore_p.get(50))),
        },
    }


def _week(end, field):
    return WholeWeeks(Seconds(Value(end, output_field=DateTimeField()), F(field)))


def _and_period(samples, weeks, since):
    """Samples of every week (grp 0 .. weeks - 1) and, again under grp -1, those at or after `since`: one query
    gives the trend's weekly percentiles and the period's, and the costly samples are computed once."""
    sql, params = samples
    since = connection.ops.adapt_datetimefield_value(since)
    combined = (
        f"WITH s AS ({sql}) SELECT grp, v FROM s WHERE grp < {int(weeks)} "  # noqa: S608 - ours, parametrised
        "UNION ALL SELECT -1 AS grp, v FROM s WHERE at >= %s"
    )
    return combined, [*params, since]


def with_trend(p: Period, *, weeks=TREND_WEEKS, bands=None):
    """(four_keys(p), trend rows) for the page, in seven queries: each weekly query also yields the period's
    figure (periods are at most 90 days, the trend covers 26 weeks)."""
    span = period(p.environment, max(weeks * 7, p.days), end=p.end)
    in_period = Q(finished_at__gte=p.start)
    weekly_counts = {**_counts(), **_counts(in_period, prefix="period_")}
    weekly = list(
        deployments(span).filter(REACHED_USERS).annotate(grp=_week(p.end, "finished_at")).values("grp")
        .annotate(**weekly_counts)
    )  # fmt: skip
    counts = {int(row["grp"]): _named(row) for row in weekly}
    period_counts = {k: sum(row[f"period_{k}"] for row in weekly) for k in _count_filters()}
    lead = percentiles(_and_period(lead_time_samples(span, week=_week(p.end, "finished_at")), weeks, p.start),
                       grouped=True)  # fmt: skip
    restore_qs = restore_samples(span).annotate(grp=_week(p.end, "opened_at"), at=F("opened_at"))
    restore = percentiles(
        _and_period(restore_qs.order_by().values("grp", "v", "at").query.sql_with_params(), weeks, p.start),
        grouped=True,
    )
    keys = four_keys(p, bands=bands, counts=period_counts, lead=lead.pop(-1, (0, {})),
                     restore=restore.pop(-1, (0, {})))  # fmt: skip
    return keys, _trend_rows(p.end, weeks, counts, lead, restore)


def trend(environment, *, end=None, weeks=TREND_WEEKS) -> list[dict]:
    """Week by week, oldest first (weeks end at `end`): three aggregate queries whatever the history holds."""
    p = period(environment, weeks * 7, end=end)
    counts = {
        int(row["grp"]): _named(row)
        for row in deployments(p).filter(REACHED_USERS).annotate(grp=_week(p.end, "finished_at")).values("grp")
        .annotate(**_counts())
    }  # fmt: skip
    lead = percentiles(lead_time_samples(p, week=_week(p.end, "finished_at")), grouped=True)
    restore = percentiles(restore_samples(p).annotate(grp=_week(p.end, "opened_at")).values("grp", "v"), grouped=True)
    return _trend_rows(p.end, weeks, counts, lead, restore)


def _trend_rows(end, weeks, counts, lead, restore):
    rows = []
    for index in range(weeks - 1, -1, -1):
        c = counts.get(index, {})
        reached = c.get("reached_users", 0)
        rows.append(
            {
                "start": end - timedelta(days=7 * (index + 1)),
                "deployments": c.get("succeeded", 0),
                "failure_percent": 100.0 * c.get("failures", 0) / reached if reached else None,
                "lead_median_seconds": lead.get(index, (0, {}))[1].get(50),
                "restore_median_seconds": restore.get(index, (0, {}))[1].get(50),
            }
        )
    return rows
