"""§4 "Check performance metrics": the new slot's error rate and p95 since it took all traffic, beside the previous
release's last hour. From Prometheus where the policy has it (the monitoring catalog's queries), HAProxy otherwise.
"""

from dataclasses import dataclass
from datetime import timedelta

from deployments.exceptions import DriverError
from deployments.metrics import prometheus_value, window_rate
from deployments.models import MetricSample
from monitoring.public import ERROR_RATE, P95, metric_query

PREVIOUS_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Figures:
    error_rate: float | None  # %
    p95: float | None  # s
    requests: int | None  # None: the source does not count them (Prometheus)


@dataclass(frozen=True)
class Comparison:
    source: str
    new: Figures
    previous: Figures


def judge(new: Figures, *, error_threshold, p95_threshold, min_requests=0) -> tuple[bool, str]:
    """Whether the new slot's figures are within the thresholds, and why not otherwise. No data is no pass."""
    if new.error_rate is None:
        return False, "No error-rate data for the new slot yet: nothing to judge."
    if new.requests is not None and new.requests < min_requests:
        return False, f"Inconclusive: {new.requests} requests on the new slot, fewer than the {min_requests} needed."
    problems = []
    if error_threshold is not None and new.error_rate > error_threshold:
        problems.append(f"error rate {new.error_rate:.2f}% is over {error_threshold:g}%")
    if p95_threshold is not None:
        if new.p95 is None:
            problems.append("no p95 figure")
        elif new.p95 > p95_threshold:
            problems.append(f"p95 {new.p95:.2f} s is over {p95_threshold:g} s")
    if problems:
        return False, "Not within the thresholds: " + "; ".join(problems) + "."
    p95 = f", p95 {new.p95:.2f} s" if new.p95 is not None else ""
    return True, f"Within the thresholds: error rate {new.error_rate:.2f}%{p95}."


def full_traffic_since(deployment):
    """When the new slot took all traffic: the last traffic step's start (the final hold), else the finish."""
    if deployment.traffic_weight == 100 and deployment.hold_started_at:
        return deployment.hold_started_at
    return deployment.finished_at or deployment.started_at


def _window(seconds):
    return f"{max(60, int(seconds))}s"


def from_prometheus(deployment, policy, now) -> Comparison:
    since = full_traffic_since(deployment)
    env = deployment.environment.key
    new_slot = deployment.to_slot.color if deployment.to_slot_id else None
    old_slot = deployment.from_slot.color if deployment.from_slot_id else None
    window = _window((now - since).total_seconds())
    url = policy.prometheus_url

    def value(key, slot, window, at=None):
        return prometheus_value(url, metric_query(key, environment=env, slot=slot, window=window), at=at)

    new = Figures(value(ERROR_RATE, new_slot, window), value(P95, new_slot, window), None)
    # The previous release carried all traffic until the shift began: its last hour ends there.
    before = deployment.started_at or since
    previous = Figures(value(ERROR_RATE, old_slot, "1h", before), value(P95, old_slot, "1h", before), None)
    return Comparison("Prometheus", new, previous)


def _figures(samples) -> Figures:
    if len(samples) < 2:
        return Figures(None, samples[-1].p95_seconds if samples else None, 0)
    rate = window_rate(samples)
    return Figures(rate.error_rate if rate.requests else None, samples[-1].p95_seconds, rate.requests)


def from_haproxy(deployment, now) -> Comparison:
    """The load balancer's counters, sampled by the engine (and by each round of these checks)."""
    since = full_traffic_since(deployment)
    samples = MetricSample.objects.filter(deployment=deployment).order_by("taken_at")
    new = list(samples.filter(slot_id=deployment.to_slot_id, taken_at__gte=since))
    previous = list(
        samples.filter(slot_id=deployment.from_slot_id, taken_at__gte=since - PREVIOUS_WINDOW, taken_at__lte=since)
    )
    return Comparison("HAProxy counters (p95: rtime average, a lower bound)", _figures(new), _figures(previous))


def compare(deployment, policy, now) -> Comparison:
    if policy.prometheus_url:
        return from_prometheus(deployment, policy, now)
    return from_haproxy(deployment, now)


__all__ = ["Comparison", "DriverError", "Figures", "compare", "full_traffic_since", "judge"]
