from django.urls import reverse

from core.dashboard import CardLine
from deployments.choices import ACTIVE, SlotRole
from deployments.models import Deployment, Slot


def deployment_lines(environments):
    ids = [e.pk for e in environments]
    live = {
        s.environment_id: s
        for s in Slot.objects.filter(environment_id__in=ids, role=SlotRole.LIVE).select_related("release")
    }
    in_flight = {
        d.environment_id: d
        for d in Deployment.objects.filter(environment_id__in=ids, status__in=ACTIVE).select_related("release")
    }
    lines = {}
    for env_id in ids:
        rows = []
        if env_id in live:
            slot = live[env_id]
            rows.append(CardLine("Live", f"{slot.color} · {slot.release or 'no release'}"))
        if env_id in in_flight:
            d = in_flight[env_id]
            tone = "warn" if d.status in {"paused", "awaiting_checklist"} else ""
            rows.append(
                CardLine(
                    "Deploying",
                    f"{d.release} · {d.get_status_display().lower()} · {d.traffic_weight}%",
                    tone=tone,
                    url=reverse("admin:deployments_deployment_change", args=[d.pk]),
                )
            )
        lines[env_id] = rows
    return lines
