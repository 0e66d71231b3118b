"""The public status page (§4 post-deployment: "Update status page"). It reads only what ops chose to publish."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from deployments.public import published_release_notes
from environments.public import Environment
from incidents import conf
from incidents.choices import OPEN
from incidents.models import Incident


@dataclass(frozen=True)
class PublicIncident:
    """Everything the page may show of an incident: no field outside this reaches the template."""

    title: str
    summary: str
    environment: str
    severity: str
    status: str
    is_open: bool
    started_at: object
    resolved_at: object


def _public(incident):
    return PublicIncident(
        title=incident.public_title or f"Incident on {incident.environment.name}",
        summary=incident.public_summary,
        environment=incident.environment.name,
        severity=incident.severity.name,
        status=incident.get_status_display(),
        is_open=incident.is_open,
        started_at=incident.started_at or incident.opened_at,
        resolved_at=incident.resolved_at,
    )


@require_GET
@cache_control(max_age=30, public=True)
def status_page(request):
    since = timezone.now() - timedelta(days=conf.status_page_recent_days())
    shown = conf.status_page_environments()
    incidents = list(
        Incident.objects.filter(published=True, environment__key__in=shown)
        .filter(Q(status__in=OPEN) | Q(resolved_at__gte=since))
        .select_related("environment", "severity")
        .order_by("-opened_at")
    )
    open_by_env = {i.environment_id for i in incidents if i.is_open}
    environments = [
        {
            "name": env.name,
            "state": "Incident in progress" if env.pk in open_by_env else (
                "Operational" if env.last_health_status == "up" else
                "Degraded" if env.last_health_status == "down" else "Not monitored"
            ),
            "tone": "bad" if env.pk in open_by_env or env.last_health_status == "down" else (
                "ok" if env.last_health_status == "up" else ""
            ),
        }
        for env in Environment.objects.filter(key__in=shown).order_by("-order")
    ]  # fmt: skip
    public = [_public(i) for i in incidents]
    return render(
        request,
        "incidents/status.html",
        {
            "environments": environments,
            "open_incidents": [i for i in public if i.is_open],
            "recent_incidents": [i for i in public if not i.is_open],
            "recent_days": conf.status_page_recent_days(),
            # Public release notes, published when their deployment succeeded (§4 "Update status page").
            "release_notes": published_release_notes(since=since),
        },
    )
