from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from core.dashboard import CardLine
from core.formatting import age
from environments.choices import HealthStatus
from environments.models import HealthCheck

_TONE = {HealthStatus.UP: "ok", HealthStatus.DOWN: "bad"}


def down_since(environment):
    """When the current run of failing probes began: the first DOWN after the last probe that was not DOWN."""
    checks = HealthCheck.objects.filter(environment=environment)
    last_good = checks.exclude(status=HealthStatus.DOWN).order_by("-checked_at").values("checked_at")[:1]
    failing = checks.filter(status=HealthStatus.DOWN)
    if last_good:
        failing = failing.filter(checked_at__gt=last_good[0]["checked_at"])
    first = failing.order_by("checked_at").values_list("checked_at", flat=True).first()
    return first or environment.last_health_checked_at


def health_summary(environment, now=None):
    """'Up, 40 ms · 2 minutes ago', or for an environment that is down how long it has been: 'Down for 7 min'."""
    if not environment.health_check_enabled:
        return "not probed"
    if environment.last_health_checked_at is None:
        return "not checked yet"
    if environment.last_health_status == HealthStatus.DOWN:
        return f"Down for {age(down_since(environment), now)}"
    status = environment.get_last_health_status_display()
    return f"{status}{latency_text(environment)} · {age_text(environment.last_health_checked_at)}"


def latency_text(environment):
    latency = environment.last_health_latency_ms
    return f", {latency:.0f} ms" if latency is not None else ""


def age_text(instant):
    """'just now' or '5 minutes ago': the largest unit only, as an on-call glance needs."""
    ago = timesince(instant, timezone.now()).split(",")[0]
    return "just now" if ago.startswith("0\xa0minutes") else f"{ago} ago"


def environment_lines(environments):
    lines = {}
    for env in environments:
        source = env.get_deploy_source_display()
        if env.deploy_trigger != "none":
            source += f" · {env.get_deploy_trigger_display().lower()}"
        lines[env.pk] = [
            CardLine("URL", env.url, url=env.url),
            CardLine("Deploys", source),
            CardLine("Data", env.get_data_policy_display()),
            CardLine(
                "Health",
                health_summary(env),
                tone=_TONE.get(env.last_health_status, "") if env.health_check_enabled else "",
                url=reverse("admin:environments_environment_change", args=[env.pk]),
            ),
        ]
    return lines


# --- What needs a person (top of the index) ---------------------------------------------------------------
# Production first: an environment's rank is its distance from production in the promotion order.


def _rank(environment):
    return -environment.order


def down_items():
    """Environments whose probes fail: 'Production is down for 7 min'."""
    from core.dashboard import AttentionItem
    from environments.models import Environment

    items = []
    for env in Environment.objects.filter(health_check_enabled=True, last_health_status=HealthStatus.DOWN):
        since = down_since(env)
        items.append(
            AttentionItem(
                group="Down",
                text=f"{env.name} is down for {age(since)}",
                detail=env.last_health_detail,
                url=reverse("admin:environments_environment_change", args=[env.pk]),
                since=since,
                rank=(_rank(env),),
            )
        )
    return items


def alert_items():
    """Firing alerts (monitoring's), critical first, production first."""
    from core.dashboard import AttentionItem
    from monitoring.public import AlertSeverity, active_alerts

    items = []
    for alert in active_alerts().filter(status="firing"):
        env = alert.environment
        critical = alert.severity == AlertSeverity.CRITICAL
        where = env.name if env else "no environment"
        items.append(
            AttentionItem(
                group="Firing alerts",
                text=f"{alert.severity.capitalize()} · {alert.name} on {where}",
                detail=alert.summary,
                tone="bad" if critical else "warn",
                url=reverse("admin:monitoring_page", args=[env.key]) if env else "",
                since=alert.starts_at,
                rank=(0 if critical else 1, _rank(env) if env else 0, alert.starts_at),
            )
        )
    return items


def deployment_items():
    """Deployments waiting for a person: weights to confirm, a decision, the checklist, an approval."""
    from core.dashboard import AttentionItem
    from deployments.public import waiting_for_a_person

    return [
        AttentionItem(
            group="Deployments waiting for someone",
            text=f"{deployment.release} → {deployment.environment.name}: {what}",
            tone="warn",
            url=reverse("admin:deployments_deployment_change", args=[deployment.pk]),
            since=deployment.started_at or deployment.created_at,
            rank=(_rank(deployment.environment),),
        )
        for deployment, what in waiting_for_a_person()
    ]
