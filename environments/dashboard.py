from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from core.dashboard import CardLine
from environments.choices import HealthStatus

_TONE = {HealthStatus.UP: "ok", HealthStatus.DOWN: "bad"}


def health_summary(environment):
    if not environment.health_check_enabled:
        return "not probed"
    if environment.last_health_checked_at is None:
        return "not checked yet"
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
