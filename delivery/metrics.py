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
    deployment's week, given a `week` expression). The commits join on the deployment's release_id directly:
    through the ORM the join would pass by the releases table, a scan of every release for nothing."""
    columns = ["release_id", "finished_at"] + (["grp"] if week is not None else [])
    first = delivering(p)
    if week is not None:
        first = first.annotate(grp=week)
    inner, params = first.order_by().values(*columns).query.sql_with_params()
    grp = "d.grp, " if week is not None else ""
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


def _counts():
    counts = {
        "reached_users": Count("pk"),
        "succeeded": Count("pk", filter=SUCCEEDED),
        "failures": Count("pk", filter=any_failure()),
    }
    counts.update({kind: Count("pk", filter=q) for kind, q in first_kinds().items()})
    return counts


def _band(bands, metric, value):
    if value is None:
        return None
    for band in bands:
        if band.metric == metric and band.fits(value):
            return band
    return None


def _hours(seconds):
    return None if seconds is None else seconds / 3600


def four_keys(p: Period, *, bands=None) -> dict:
    """The four keys for the period: four aggregate queries, plus one for the bands unless given."""
    bands = list(PerformanceBand.objects.all()) if bands is None else bands
    counts = deployments(p).filter(REACHED_USERS).aggregate(**_counts())
    lead_n, lead = percentiles(lead_time_samples(p)).get(None, (0, {}))
    restore = restore_incidents(p).aggregate(
        caused=Count("pk"),
        restored=Count("pk", filter=Q(executed_at__isnull=False) | Q(resolved_at__isnull=False)),
    )
    restore_n, restore_p = percentiles(restore_samples(p).values("v")).get(None, (0, {}))

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


def trend(environment, *, end=None, weeks=TREND_WEEKS) -> list[dict]:
    """Week by week, oldest first (weeks end at `end`): three aggregate queries whatever the history holds."""
    p = period(environment, weeks * 7, end=end)
    week = WholeWeeks(Seconds(Value(p.end, output_field=DateTimeField()), F("finished_at")))
    counts = {
        int(row["grp"]): row
        for row in deployments(p).filter(REACHED_USERS).annotate(grp=week).values("grp").annotate(**_counts())
    }
    lead = percentiles(lead_time_samples(p, week=week), grouped=True)
    incident_week = WholeWeeks(Seconds(Value(p.end, output_field=DateTimeField()), F("opened_at")))
    restore = percentiles(restore_samples(p).annotate(grp=incident_week).values("grp", "v"), grouped=True)
    rows = []
    for index in range(weeks - 1, -1, -1):
        c = counts.get(index, {})
        reached = c.get("reached_users", 0)
        rows.append(
            {
                "start": p.end - timedelta(days=7 * (index + 1)),
                "deployments": c.get("succeeded", 0),
                "failure_percent": 100.0 * c.get("failures", 0) / reached if reached else None,
                "lead_median_seconds": lead.get(index, (0, {}))[1].get(50),
                "restore_median_seconds": restore.get(index, (0, {}))[1].get(50),
            }
        )
    return rows
