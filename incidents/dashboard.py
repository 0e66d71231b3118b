from django.db.models import Count
from django.urls import reverse

from core.dashboard import CardLine
from incidents.choices import OPEN
from incidents.models import Incident


def incident_lines(environments):
    ids = [e.pk for e in environments]
    counts = dict(
        Incident.objects.filter(environment_id__in=ids, status__in=OPEN)
        .values_list("environment_id")
        .annotate(n=Count("pk"))
    )
    url = reverse("admin:incidents_incident_changelist")
    lines = {}
    for env_id in ids:
        n = counts.get(env_id, 0)
        value = f"{n} open" if n else "none open"
        lines[env_id] = [
            CardLine("Incidents", value, tone="bad" if n else "ok", url=f"{url}?environment__id__exact={env_id}")
        ]
    return lines
