"""§5's automatic triggers, evaluated on the new slot: 5xx rate, p95 latency, health checks.

Where the console's Prometheus watches the environment, the 5xx rate and p95 are the monitoring catalog's own
definitions (monitoring.public.slot_value: the same PromQL as the alert rules, for the new slot, over the
trigger's window), so alerts and rollbacks agree on what "error rate" means and p95 is a true quantile from the
storefront's histograms. Without it (or while it has no data), HAProxy's samples are the source: its 5xx
counters, and its average response time as a lower bound of p95. The load balancer's request count is the
"enough traffic for a verdict" gate either way.
"""

from datetime import timedelta

from deployments.choices import TriggerAction
from deployments.choices import TriggerKind as K
from deployments.engine.base import trigger
from deployments.metrics import prometheus_value, window_rate
from deployments.models import MetricSample
from monitoring.public import ERROR_RATE, P95, slot_value

CATALOG = "Prometheus, catalog {key}"


def window(deployment, since):
    return list(
        MetricSample.objects.filter(deployment=deployment, slot=deployment.to_slot, taken_at__gte=since).order_by(
            "taken_at"
        )
    )


def first_breach(samples, threshold):
    """The first sample at which the running 5xx rate since the window's start went over `threshold`."""
    for i in range(1, len(samples)):
        rate = window_rate(samples[: i + 1])
        if rate.errors and rate.error_rate > threshold:
            return samples[i].taken_at
    return samples[-1].taken_at


def _catalog(deployment, key, a_trigger):
    return slot_value(
        key,
        environment=deployment.environment,
        slot=deployment.to_slot.color,
        window_seconds=a_trigger.window_seconds,
    )


def _p95(deployment, policy, latency_trigger, samples):
    value = _catalog(deployment, P95, latency_trigger)
    if value is not None:
        return value, CATALOG.format(key=P95)
    if latency_trigger.promql and policy.prometheus_url:
        # A Prometheus the console does not configure, with the policy's own query (kept for such setups).
        query = latency_trigger.promql.replace("{slot}", deployment.to_slot.color)
        return prometheus_value(policy.prometheus_url, query), "Prometheus"
    # Without Prometheus, HAProxy's average over the last 1024 responses: a lower bound of p95.
    latest = samples[-1] if samples else None
    return (latest.p95_seconds if latest else None), "HAProxy rtime (average, a lower bound of p95)"


def _error_rate(deployment, policy, error_trigger, samples, now):
    rate = window_rate(samples)
    if rate.requests < policy.min_requests:
        return None
    value = _catalog(deployment, ERROR_RATE, error_trigger)
    if value is not None:
        if value <= error_trigger.threshold:
            return None
        detail = (
            f"5xx rate {value:.1f}% > {error_trigger.threshold:g}% over the last "
            f"{error_trigger.window_seconds:g}s ({CATALOG.format(key=ERROR_RATE)}; {rate.requests} requests)"
        )
        return error_trigger.action, error_trigger, detail, now
    if rate.error_rate <= error_trigger.threshold:
        return None
    detail = (
        f"5xx rate {rate.error_rate:.1f}% > {error_trigger.threshold:g}% over the last "
        f"{error_trigger.window_seconds:g}s ({rate.errors} of {rate.requests} requests)"
    )
    return error_trigger.action, error_trigger, detail, first_breach(samples, error_trigger.threshold)


def evaluate(deployment, policy, now):
    """Check the triggers on the new slot. Returns (action, trigger, detail, detected_at) or None."""
    traffic_since = deployment.started_at or now
    error_trigger = trigger(policy, K.ERROR_RATE)
    if error_trigger:
        since = max(now - timedelta(seconds=error_trigger.window_seconds), traffic_since)
        breach = _error_rate(deployment, policy, error_trigger, window(deployment, since), now)
        if breach:
            return breach
    latency_trigger = trigger(policy, K.P95_LATENCY)
    if latency_trigger:
        since = max(now - timedelta(seconds=latency_trigger.window_seconds), traffic_since)
        samples = window(deployment, since)
        rate = window_rate(samples)
        value, source = _p95(deployment, policy, latency_trigger, samples)
        if value is not None and rate.requests >= policy.min_requests and value > latency_trigger.threshold:
            detail = f"p95 {value:.2f}s > {latency_trigger.threshold:g}s ({source})"
            return latency_trigger.action, latency_trigger, detail, now
    health_trigger = trigger(policy, K.HEALTH_CHECK)
    if health_trigger and deployment.health_failures >= int(health_trigger.threshold):
        detail = f"{deployment.health_failures} consecutive health-check failures on the new slot"
        return TriggerAction.ROLLBACK, health_trigger, detail, now
    return None
