from django.db.models import Count
from django.urls import reverse

from core.dashboard import AttentionItem, CardLine
from incidents.choices import OPEN
from incidents.models import Incident

OPEN_FILTER = "state=open"  # the list filter (admin.OpenFilter) the cards and the top of the index link to


def open_list_url(environment_id=None):
    url = reverse("admin:incidents_incident_changelist") + "?" + OPEN_FILTER
    return url + (f"&environment__id__exact={environment_id}" if environment_id else "")


def incident_lines(environments):
    ids = [e.pk for e in environments]
    counts = dict(
        Incident.objects.filter(environment_id__in=ids, status__in=OPEN)
        .values_list("environment_id")
        .annotate(n=Count("pk"))
    )
    lines = {}
    for env_id in ids:
        n = counts.get(env_id, 0)
        value = f"{n} open" if n else "none open"
        lines[env_id] = [CardLine("Incidents", value, tone="bad" if n else "ok", url=open_list_url(env_id))]
    return lines


def incident_items():
    """Open incidents, most severe first, then production first, then oldest: with their age."""
    rows = Incident.objects.filter(status__in=OPEN).select_related("severity", "environment")
    return [
        AttentionItem(
            group="Open incidents",
            text=f"{i.severity.name} · #{i.pk} {i.title} · {i.environment.name} · {i.get_status_display().lower()}",
            tone="bad" if i.severity.order <= 2 else "warn",
            url=reverse("admin:incidents_incident_change", args=[i.pk]),
            since=i.opened_at,
            rank=(i.severity.order, -i.environment.order, i.opened_at),
        )
        for i in rows
    ]
