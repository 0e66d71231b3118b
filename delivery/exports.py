"""The deployments behind each figure, as CSV rows, streamed from the database in chunks."""

from django.db.models import BooleanField, Count, ExpressionWrapper, F, Min

from delivery import metrics
from deployments.public import Deployment

FIGURES = ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")
COLUMNS = ["deployment", "release", "environment", "status", "started_at", "finished_at", "rollback_executed_at"]
FIELDS = ["pk", "release__version", "environment__key", "status", "started_at", "finished_at", "executed_at"]


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    # A spreadsheet would run a cell starting like a formula; release names are typed by people.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def rows(p, figure):
    """(header, rows) for one figure of period `p`."""
    extra_columns, extra_fields = [], []
    if figure == "deployment_frequency":
        qs = metrics.deployments(p).filter(metrics.SUCCEEDED)
    elif figure == "lead_time":
        qs = metrics.delivering(p).annotate(
            commits=Count("release__commits"), first_commit_at=Min("release__commits__committed_at")
        )
        extra_columns, extra_fields = ["commits", "first_commit_at"], ["commits", "first_commit_at"]
    elif figure == "change_failure_rate":
        kinds = {
            f"is_{kind}": ExpressionWrapper(q, output_field=BooleanField()) for kind, q in metrics.FAILURE_KINDS.items()
        }
        qs = metrics.deployments(p).filter(metrics.REACHED_USERS).annotate(**kinds, incident_id=F("incident__pk"))
        extra_columns = [f"failed_{kind}" for kind in metrics.FAILURE_KINDS] + ["incident"]
        extra_fields = [*kinds, "incident_id"]
    else:
        qs = Deployment.objects.filter(incident__in=metrics.restore_incidents(p)).annotate(
            incident_id=F("incident__pk"),
            incident_detected_at=F("incident__detected_at"),
            incident_resolved_at=F("incident__resolved_at"),
        )
        extra_columns = ["incident", "incident_detected_at", "incident_resolved_at"]  # the incident's id first
        extra_fields = ["incident_id", "incident_detected_at", "incident_resolved_at"]
    values = qs.order_by("finished_at", "pk").values_list(*FIELDS, *extra_fields)
    return COLUMNS + extra_columns, ([_cell(v) for v in row] for row in values.iterator(chunk_size=2000))
