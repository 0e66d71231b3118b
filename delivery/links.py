"""Each figure's rows in the deployments and incidents admin changelists (plain lookups the admin accepts)."""

from urllib.parse import urlencode

from django.urls import reverse

from delivery.metrics import REACHED_USERS, deployments, first_kinds

# The incident-linked failures have no plain lookup (their window is relative to each deployment): listed by id.
MAX_LINKED_IDS = 500


def _deployments(**params):
    return f"{reverse('admin:deployments_deployment_changelist')}?{urlencode(params)}"


def _window(p, field):
    return {
        "environment__id__exact": p.environment.pk,
        f"{field}__gte": p.start.isoformat(),
        f"{field}__lt": p.end.isoformat(),
    }


def figure_links(p) -> dict:
    """One query: the ids of the deployments an incident made failures (usually a handful)."""
    window = _window(p, "finished_at")
    incident_ids = list(
        deployments(p)
        .filter(REACHED_USERS)
        .filter(first_kinds()["incident"])
        .values_list("pk", flat=True)[:MAX_LINKED_IDS]
    )
    return {
        "succeeded": _deployments(status__exact="succeeded", **window),
        "rolled_back": _deployments(executed_at__isnull="False", **window),
        "incident": _deployments(id__in=",".join(map(str, incident_ids)) or "0"),
        "restore": f"{reverse('admin:incidents_incident_changelist')}?"
        + urlencode({"deployment__isnull": "False", **_window(p, "opened_at")}),
    }
