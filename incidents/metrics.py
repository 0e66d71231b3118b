"""MTTD, time to decide, time to execute and MTTR per severity, and the share meeting the targets."""

from datetime import timedelta

from django.utils import timezone
from django.utils.html import format_html, format_html_join

from incidents.choices import Phase
from incidents.models import Incident, Severity

WINDOWS = (30, 90)


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values, timedelta()) / len(values) if values else None


def severity_metrics(*, days, now=None):
    now = now or timezone.now()
    since = now - timedelta(days=days)
    incidents = list(Incident.objects.filter(opened_at__gte=since).select_related("severity"))
    rows = []
    for severity in Severity.objects.all():
        mine = [i for i in incidents if i.severity_id == severity.pk]
        judged = [i.met_all_targets for i in mine if i.met_all_targets is not None]
        rows.append(
            {
                "severity": severity,
                "count": len(mine),
                "mttd": _mean([i.duration(Phase.DETECTION) for i in mine]),
                "decide": _mean([i.duration(Phase.DECISION) for i in mine]),
                "execute": _mean([i.duration(Phase.EXECUTION) for i in mine]),
                "mttr": _mean([i.time_to_resolve for i in mine]),
                "met_share": (100.0 * sum(judged) / len(judged)) if judged else None,
                "judged": len(judged),
            }
        )
    return rows


def minutes(delta):
    return None if delta is None else delta.total_seconds() / 60


def chart_svg(rows, *, width=420, bar_height=14):
    """Horizontal bars: share of incidents meeting every target, per severity. Inline SVG, no library."""
    label_w, gap = 90, 8
    height = len(rows) * (bar_height + gap) + gap
    parts = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" '
            'aria-label="Share of incidents meeting their targets">',
            width,
            height,
        )
    ]
    for i, row in enumerate(rows):
        y = gap + i * (bar_height + gap)
        share = row["met_share"]
        track = width - label_w - 60
        w = 0 if share is None else track * share / 100
        # 0% is a value, not a gap: a 3 px mark on a visible track, so it reads as "none met".
        mark = 0 if share is None else max(w, 3)
        colour = "#2e7d32" if (share or 0) >= 90 else "#f9a825" if (share or 0) >= 50 else "#c62828"
        text = "no data" if share is None else f"{share:.0f}%"
        # The severity's name is an operator's text: escaped like every other value.
        parts += [
            format_html('<text x="0" y="{}" font-size="12">{}</text>', y + bar_height - 3, row["severity"]),
            format_html('<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#8c959f" '
                        'class="track"/>', label_w, y, track, bar_height),
            format_html('<rect x="{}" y="{}" width="{}" height="{}" fill="{}" class="bar"/>', label_w, y,
                        f"{mark:.1f}", bar_height, colour),
            format_html('<text x="{}" y="{}" font-size="12">{}</text>', f"{label_w + mark + 4:.1f}",
                        y + bar_height - 3, text),
        ]  # fmt: skip
    return format_html("{}</svg>", format_html_join("", "{}", ((part,) for part in parts)))
