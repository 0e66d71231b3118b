"""Server-side SVG charts (no CDN, no JavaScript): a line per series, with the warning and critical lines."""

from datetime import UTC, datetime

from django.utils.html import escape
from django.utils.safestring import mark_safe

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 560, 160, 48, 20, 8
COLOURS = ["#2563eb", "#059669", "#7c3aed", "#db2777"]


def _fmt(value):
    return f"{value:.3g}"


def svg(*, title, unit, series, start, end, warning=None, critical=None):
    """`series`: [(label, [(t, v), ...])]. Every text is escaped; the markup around it is ours."""
    values = [v for _, points in series for _, v in points]
    limits = [x for x in (warning, critical) if x is not None]
    top = max(values + limits + [0.0]) * 1.1 or 1.0
    bottom = min(values + [0.0])
    span_y, span_x = (top - bottom) or 1.0, (end - start) or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT - 4, HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(t):
        return PAD_LEFT + (t - start) / span_x * plot_w

    def y(v):
        return PAD_TOP + (top - v) / span_y * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ops-chart" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)} ({escape(unit)}), last 24 hours</title>",
        f'<rect x="{PAD_LEFT}" y="{PAD_TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ddd"/>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 10}" text-anchor="end" font-size="10">{_fmt(top)}</text>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + plot_h}" text-anchor="end" font-size="10">{_fmt(bottom)}</text>',
        f'<text x="{PAD_LEFT}" y="{HEIGHT - 4}" font-size="10">{_clock(start)}</text>',
        f'<text x="{WIDTH - 4}" y="{HEIGHT - 4}" text-anchor="end" font-size="10">{_clock(end)} UTC</text>',
    ]
    for name, value, colour in (("warning", warning, "#d97706"), ("critical", critical, "#dc2626")):
        if value is not None:
            parts.append(
                f'<line class="threshold-{name}" x1="{PAD_LEFT}" x2="{PAD_LEFT + plot_w}" y1="{y(value):.1f}" '
                f'y2="{y(value):.1f}" stroke="{colour}" stroke-dasharray="4 3"/>'
                f'<text x="{PAD_LEFT + plot_w - 2}" y="{y(value) - 2:.1f}" text-anchor="end" font-size="10" '
                f'fill="{colour}">{name} {_fmt(value)}</text>'
            )
    for i, (label, points) in enumerate(series):
        if not points:
            continue
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        colour = COLOURS[i % len(COLOURS)]
        parts.append(
            f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="1.5" points="{path}">'
            f"<title>{escape(label)}</title></polyline>"
        )
    if not values:
        parts.append(
            f'<text x="{PAD_LEFT + plot_w / 2}" y="{PAD_TOP + plot_h / 2}" text-anchor="middle" font-size="12" '
            f'fill="#888">no data in the last 24 hours</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - built above; every text in it went through escape()


def _clock(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).strftime("%H:%M")
