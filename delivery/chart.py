"""The weekly trend as server-side SVG: one small bar chart per key, no library, no CDN, every text escaped."""

from django.utils.html import format_html, format_html_join

WIDTH, HEIGHT, TOP = 312, 84, 14


def bar_chart(title, rows, key, *, describe, colour="#417690"):
    """Bars for rows[i][key] (None: no bar), tallest = the largest value; each bar's tooltip says its week."""
    values = [row[key] for row in rows]
    top = max((v for v in values if v is not None), default=0) or 0
    step = WIDTH / max(len(rows), 1)
    bars = []
    for i, (row, value) in enumerate(zip(rows, values, strict=True)):
        height = 0.0 if not value or not top else (HEIGHT - TOP) * value / top
        label = f"week of {row['start']:%Y-%m-%d}: {describe(value)}"
        bars.append(
            (
                f"{i * step + 1:.1f}",
                f"{HEIGHT - height:.1f}",
                f"{max(step - 2, 1):.1f}",
                f"{height:.1f}",
                colour if value is not None else "#ccc",
                label,
            )
        )
    body = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
        bars,
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{title}" class="dora-trend">'
        '<text x="0" y="10" font-size="11">{title} (max {top})</text>'
        '<line x1="0" y1="{h}" x2="{w}" y2="{h}" stroke="#999"/>{body}</svg>',
        w=WIDTH,
        h=HEIGHT,
        title=title,
        top=describe(top) if top else "no data",
        body=body,
    )


def trend_charts(rows, *, duration_text):
    def count(v):
        return "no deployments" if not v else f"{v:g}"

    def percent(v):
        return "no deployments" if v is None else f"{v:.0f}%"

    def duration(v):
        return "no data" if v is None else duration_text(v)

    charts = [
        bar_chart("Succeeded deployments per week", rows, "deployments", describe=count),
        bar_chart("Lead time for changes, median", rows, "lead_median_seconds", describe=duration),
        bar_chart("Change failure rate", rows, "failure_percent", describe=percent, colour="#ba2121"),
        bar_chart("Time to restore, median", rows, "restore_median_seconds", describe=duration),
    ]
    return format_html_join("", "{}", ((chart,) for chart in charts))
