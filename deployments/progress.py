"""What the deployment page shows: progress, traffic split, and the error-rate/p95 series."""

from dataclasses import dataclass

from deployments.choices import FINAL, StepStatus, TriggerKind
from deployments.metrics import window_rate


@dataclass(frozen=True)
class ChartPoint:
    seconds: float
    error_rate: float | None
    p95: float | None


def progress(deployment):
    steps = list(deployment.steps.all())
    done = sum(s.status in {StepStatus.PASSED, StepStatus.SKIPPED} for s in steps)
    return done, len(steps)


def traffic_split(deployment):
    """[(slot color, percent)] for the slots, as the engine last set them."""
    if not deployment.to_slot_id:
        return []
    new = deployment.traffic_weight
    return [(deployment.from_slot.color, 100 - new), (deployment.to_slot.color, new)]


def series(deployment):
    """Error rate (%) between consecutive samples of the new slot, and its p95 (s), over time."""
    samples = [s for s in deployment.samples.all() if s.slot_id == deployment.to_slot_id]
    if not samples:
        return []
    start = samples[0].taken_at
    points = []
    for previous, current in zip(samples, samples[1:], strict=False):
        rate = window_rate([previous, current])
        points.append(
            ChartPoint(
                seconds=(current.taken_at - start).total_seconds(),
                error_rate=rate.error_rate if rate.requests else None,
                p95=current.p95_seconds,
            )
        )
    return points


def thresholds(deployment):
    policy = deployment.environment.deployment_policy
    found = {t.kind: t.threshold for t in policy.triggers.all() if t.enabled}
    return found.get(TriggerKind.ERROR_RATE), found.get(TriggerKind.P95_LATENCY)


def svg_chart(deployment, *, width=640, height=180):
    """A small inline SVG: error rate (left axis, %) and p95 (right axis, s), thresholds dashed."""
    points = series(deployment)
    error_threshold, p95_threshold = thresholds(deployment)
    if not points:
        return ""
    pad = 30
    span = max(points[-1].seconds, 1.0)
    max_rate = max([p.error_rate or 0 for p in points] + [(error_threshold or 5) * 1.5])
    max_p95 = max([p.p95 or 0 for p in points] + [(p95_threshold or 3) * 1.5])

    def x(seconds):
        return pad + (width - 2 * pad) * seconds / span

    def y(value, top):
        return height - pad - (height - 2 * pad) * value / top

    def path(values, top):
        coords = [f"{x(p.seconds):.1f},{y(v, top):.1f}" for p, v in zip(points, values, strict=True) if v is not None]
        return "M" + " L".join(coords) if coords else ""

    parts = [
        f'<svg class="ops-chart" viewBox="0 0 {width} {height}" role="img" aria-label="Error rate and p95">',
        f'<rect x="{pad}" y="{pad}" width="{width - 2 * pad}" height="{height - 2 * pad}" class="frame"/>',
        f'<path d="{path([p.error_rate for p in points], max_rate)}" class="rate"/>',
        f'<path d="{path([p.p95 for p in points], max_p95)}" class="p95"/>',
    ]
    if error_threshold is not None:
        ty = y(error_threshold, max_rate)
        parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{ty:.1f}" y2="{ty:.1f}" class="rate-threshold"/>')
        parts.append(f'<text x="{pad + 4}" y="{ty - 4:.1f}" class="rate-label">5xx {error_threshold:g}%</text>')
    if p95_threshold is not None:
        ty = y(p95_threshold, max_p95)
        parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{ty:.1f}" y2="{ty:.1f}" class="p95-threshold"/>')
        parts.append(f'<text x="{width - pad - 90}" y="{ty - 4:.1f}" class="p95-label">p95 {p95_threshold:g}s</text>')
    parts.append(f'<text x="{pad}" y="{height - 8}" class="axis">0s</text>')
    parts.append(f'<text x="{width - pad - 30}" y="{height - 8}" class="axis">{span:.0f}s</text>')
    parts.append("</svg>")
    return "".join(parts)


def is_live(deployment):
    """The page refreshes itself while the engine works on it, including a succeeded one's bake period."""
    return deployment.status not in FINAL or deployment.is_watching
