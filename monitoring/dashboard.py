"""The environment cards' line: firing alerts by severity, in colour."""

from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from core.dashboard import CardLine
from monitoring.choices import ACTIVE, AlertSeverity
from monitoring.models import Alert


def alert_lines(environments) -> dict:
    counts = {}
    rows = (
        Alert.objects.filter(status__in=ACTIVE, environment__isnull=False)
        .values("environment_id", "severity")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        counts.setdefault(row["environment_id"], {})[row["severity"]] = row["n"]
    lines = {}
    for env in environments:
        found = counts.get(env.pk, {})
        critical, warning = found.get(AlertSeverity.CRITICAL, 0), found.get(AlertSeverity.WARNING, 0)
        if not (critical or warning):
            value, tone = "none firing", "ok"
        else:
            value = f"{critical} critical, {warning} warning"
            tone = "bad" if critical else "warn"
        lines[env.pk] = [
            CardLine(label="Alerts", value=value, tone=tone, url=reverse("admin:monitoring_page", args=[env.key]))
        ]
    return lines


def environment_panel(environment):
    lines = alert_lines([environment])[environment.pk][0]
    return format_html('<p><span class="ops-{}">{}</span> · <a href="{}">Monitoring page (charts, alerts)</a></p>',
                       lines.tone, lines.value, lines.url)  # fmt: skip
