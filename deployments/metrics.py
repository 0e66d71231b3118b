"""Rates from load-balancer samples, and PromQL queries, for the rollback triggers."""

from dataclasses import dataclass

from deployments.exceptions import DriverError


@dataclass(frozen=True)
class WindowRate:
    requests: int
    errors: int

    @property
    def error_rate(self):
        """5xx responses as a percentage of requests."""
        return 100.0 * self.errors / self.requests if self.requests else 0.0


def _delta(previous, current):
    # A reload resets HAProxy's counters: what was counted since the reset is the current value.
    return current - previous if current >= previous else current


def window_rate(samples) -> WindowRate:
    """Requests and 5xx between the first and last of `samples` (oldest first), across counter resets."""
    requests_seen = errors = 0
    for previous, current in zip(samples, samples[1:], strict=False):
        requests_seen += _delta(previous.req_tot, current.req_tot)
        errors += _delta(previous.hrsp_5xx, current.hrsp_5xx)
    return WindowRate(requests=requests_seen, errors=errors)


def prometheus_value(base_url: str, promql: str, *, timeout: float = 5.0, at=None) -> float | None:
    """The single value of an instant PromQL query (at `at`, a datetime, or now), or None when it returns no series."""
    import requests  # heavy: imported by the engine's sample, not by every command at start-up

    params = {"query": promql} | ({"time": f"{at.timestamp():.3f}"} if at is not None else {})
    try:
        response = requests.get(f"{base_url.rstrip('/')}/api/v1/query", params=params, timeout=timeout)
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise DriverError(f"Prometheus at {base_url}: {exc}") from exc
    if body.get("status") != "success":
        raise DriverError(f"Prometheus refused the query: {body.get('error', body)}", permanent=True)
    result = body["data"]["result"]
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if value != value else value  # NaN: no traffic in the window
