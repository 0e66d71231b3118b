"""What the deployment page shows: progress, traffic split, and the error-rate/p95 series."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from deployments.choices import FINAL, BalancerKind, DeploymentStatus, StepStatus, TriggerKind
from deployments.metrics import window_rate

# Ended without reaching its goal: the bar is red whatever share of steps passed.
RED = frozenset({DeploymentStatus.ABORTED, DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK,
                 DeploymentStatus.ROLLING_BACK})  # fmt: skip
NOT_MEASURED = "Held — not measured"


@dataclass(frozen=True)
class ChartPoint:
    seconds: float
    error_rate: float | None
    p95: float | None


@dataclass(frozen=True)
class Progress:
    """Steps as they are: only a passed step is done; skipped and failed ones are said, never counted as done."""

    passed: int
    skipped: int
    failed: int
    total: int
    tone: str  # ops-ok (all passed, succeeded), ops-bad (aborted, failed, rolled back), "" (under way)

    @property
    def percent(self):
        return round(100 * self.passed / self.total) if self.total else 0

    @property
    def skipped_percent(self):
        return round(100 * self.skipped / self.total) if self.total else 0

    @property
    def label(self):
        text = f"{self.passed}/{self.total} steps"
        extra = [f"{n} {what}" for n, what in ((self.skipped, "skipped"), (self.failed, "failed")) if n]
        return f"{text} ({', '.join(extra)})" if extra else text


def progress_state(status, *, passed, skipped=0, failed=0, total):
    """The bar's numbers and colour for a deployment in `status` with these step counts (a plain rule)."""
    if status in RED or failed:
        tone = "ops-bad"
    elif status == DeploymentStatus.SUCCEEDED and passed == total:
        tone = "ops-ok"
    elif status == DeploymentStatus.SUCCEEDED:
        tone = "ops-warn"  # succeeded with steps skipped: done, but not everything was checked
    else:
        tone = ""
    return Progress(passed=passed, skipped=skipped, failed=failed, total=total, tone=tone)


def progress(deployment, steps=None):
    steps = list(deployment.steps.all()) if steps is None else steps
    count = {status: sum(s.status == status for s in steps) for status in StepStatus.values}
    return progress_state(
        deployment.status,
        passed=count[StepStatus.PASSED],
        skipped=count[StepStatus.SKIPPED],
        failed=count[StepStatus.FAILED],
        total=len(steps),
    )


def measured(policy):
    """Whether the load balancer reports counters: a manual one does not, so no hold is measured."""
    return policy.balancer != BalancerKind.MANUAL


def human_duration(seconds):
    """'45 s', '4 min 40 s', '2 h 5 min': for people, not '0:00:00.010695'."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


@dataclass(frozen=True)
class StepRow:
    step: object
    label: str
    tone: str
    elapsed: str  # running: since it started; ended: how long it took


def step_rows(deployment, steps, *, policy, now=None):
    """The steps table: a traffic hold nothing measured says so, instead of "Passed"."""
    now = now or timezone.now()
    rows = []
    for step in steps:
        label, tone = step.get_status_display(), ""
        if step.status == StepStatus.PASSED:
            tone = "ops-ok"
            if step.name.startswith("traffic_") and not measured(policy):
                label, tone = NOT_MEASURED, "ops-warn"
        elif step.status == StepStatus.FAILED:
            tone = "ops-bad"
        elif step.status == StepStatus.SKIPPED:
            tone = "ops-muted"
        elapsed = ""
        if step.started_at and step.status == StepStatus.RUNNING:
            elapsed = human_duration((now - step.started_at).total_seconds())
        elif step.started_at and step.finished_at:
            elapsed = human_duration((step.finished_at - step.started_at).total_seconds())
        rows.append(StepRow(step=step, label=label, tone=tone, elapsed=elapsed))
    return rows


@dataclass(frozen=True)
class Hold:
    weight: int
    seconds: float
    ends_at: object  # None while a person has yet to set the weights (the hold starts on their confirmation)


def current_hold(deployment, policy):
    """The traffic hold under way, or None."""
    if deployment.status not in {DeploymentStatus.SHIFTING_TRAFFIC, DeploymentStatus.VERIFYING}:
        return None
    steps = list(policy.traffic_steps.all())
    if not 0 <= deployment.traffic_step < len(steps):
        return None
    step = steps[deployment.traffic_step]
    if deployment.awaiting_weights or deployment.hold_started_at is None:
        return Hold(weight=step.weight, seconds=step.hold_seconds, ends_at=None)
    return Hold(
        weight=step.weight,
        seconds=step.hold_seconds,
        ends_at=deployment.hold_started_at + timedelta(seconds=step.hold_seconds),
    )


def total_duration(deployment):
    """How long it ran, once it ended; '' while it runs."""
    if deployment.finished_at is None:
        return ""
    if deployment.started_at is None:
        return "nothing; it ended before the engine started"
    return human_duration((deployment.finished_at - deployment.started_at).total_seconds())


def traffic_split(deployment):
    """[(slot color, percent)] for the slots, as the engine last set them."""
    if not deployment.to_slot_id:
        return []
    new = deployment.traffic_weight
    return [(deployment.from_slot.color, 100 - new), (deployment.to_slot.color, new)]


def series(deployment):
    """Error rate (%) between consecutive samples of the new slot, and its p95 (s), over time.

    A deployment older than the raw samples' retention (30 days) is drawn from its hourly roll-ups instead."""
    samples = [s for s in deployment.samples.all() if s.slot_id == deployment.to_slot_id]
    if not samples:
        return hourly_series(deployment)
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


def hourly_series(deployment):
    """The new slot's hours once its samples are pruned: each hour's error rate, and its worst p95."""
    hours = list(deployment.sample_hours.filter(slot_id=deployment.to_slot_id).order_by("hour"))
    if not hours:
        return []
    start = hours[0].hour
    return [ChartPoint(seconds=(h.hour - start).total_seconds(), error_rate=h.error_rate, p95=h.p95_max) for h in hours]


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


def state_signature(deployment):
    """Changes whenever the deployment moves on (status, traffic step, weights asked for, pause): a banner said in
    one state is stale in another."""
    said = f"{deployment.status}|{deployment.traffic_step}|{deployment.awaiting_weights}|{deployment.paused_from}"
    return hashlib.sha1(said.encode(), usedforsecurity=False).hexdigest()[:12]


def is_live(deployment):
    """The page refreshes itself while the engine works on it, including a succeeded one's bake period."""
    return deployment.status not in FINAL or deployment.is_watching
