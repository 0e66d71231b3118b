"""Server-side SVG charts (no CDN, no JavaScript): a line per series, with the warning and critical lines.
Built with format_html only: every value, the operator-editable names included, is escaped."""

from datetime import UTC, datetime

from django.utils.html import format_html, format_html_join

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 560, 160, 48, 20, 8
COLOURS = ["#2563eb", "#059669", "#7c3aed", "#db2777"]
LIMIT_COLOURS = {"warning": "#d97706", "critical": "#dc2626"}


def _fmt(value):
    return f"{value:.3g}"


def _clock(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).strftime("%H:%M")


def svg(*, title, unit, series, start, end, warning=None, critical=None):
    """`series`: [(label, [(t, v), ...])]."""
    values = [v for _, points in series for _, v in points]
    limits = [x for x in (warning, critical) if x is not None]
    top = max(values + limits + [0.0]) * 1.1 or 1.0
    bottom = min(values + [0.0])
    span_y, span_x = (top - bottom) or 1.0, (end - start) or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT - 4, HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(t):
        return f"{PAD_LEFT + (t - start) / span_x * plot_w:.1f}"

    def y(v):
        return f"{PAD_TOP + (top - v) / span_y * plot_h:.1f}"

    parts = [
        format_html(
            '<title>{} ({}), last 24 hours</title><rect x="{}" y="{}" width="{}" height="{}" fill="#fafafa" '
            'stroke="#ddd"/><text x="{}" y="{}" text-anchor="end" font-size="10">{}</text>'
            '<text x="{}" y="{}" text-anchor="end" font-size="10">{}</text>'
            '<text x="{}" y="{}" font-size="10">{}</text>'
            '<text x="{}" y="{}" text-anchor="end" font-size="10">{} UTC</text>',
            title, unit, PAD_LEFT, PAD_TOP, plot_w, plot_h,
            PAD_LEFT - 4, PAD_TOP + 10, _fmt(top), PAD_LEFT - 4, PAD_TOP + plot_h, _fmt(bottom),
            PAD_LEFT, HEIGHT - 4, _clock(start), WIDTH - 4, HEIGHT - 4, _clock(end),
        )
    ]  # fmt: skip
    for name, value in (("warning", warning), ("critical", critical)):
        if value is not None:
            colour = LIMIT_COLOURS[name]
            parts.append(
                format_html(
                    '<line class="threshold-{}" x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-dasharray="4 3"/>'
                    '<text x="{}" y="{}" text-anchor="end" font-size="10" fill="{}">{} {}</text>',
                    name, PAD_LEFT, PAD_LEFT + plot_w, y(value), y(value), colour,
                    PAD_LEFT + plot_w - 2, f"{float(y(value)) - 2:.1f}", colour, name, _fmt(value),
                )
            )  # fmt: skip
    for i, (label, points) in enumerate(series):
        if points:
            parts.append(
                format_html(
                    '<polyline class="series" fill="none" stroke="{}" stroke-width="1.5" points="{}">'
                    "<title>{}</title></polyline>",
                    COLOURS[i % len(COLOURS)], " ".join(f"{x(t)},{y(v)}" for t, v in points), label,
                )
            )  # fmt: skip
    if not values:
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" font-size="12" fill="#888">'
                "no data in the last 24 hours</text>",
                PAD_LEFT + plot_w / 2, PAD_TOP + plot_h / 2,
            )
        )  # fmt: skip
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="ops-chart" width="{}" height="{}" viewBox="0 0 {} {}" '
        'role="img" aria-label="{}">{}</svg>',
        WIDTH, HEIGHT, WIDTH, HEIGHT, title, format_html_join("", "{}", ((part,) for part in parts)),
    )  # fmt: skip
