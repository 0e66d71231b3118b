"""Environment rules: the required variables check (§7) and the health probe (which raises an alert when down)."""

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.tasks import enqueue
from environments.choices import HealthStatus
from environments.models import Environment, HealthCheck, RequiredVariable
from environments.strategy import HEALTH_CHECK_TASK
from monitoring.public import AlertSeverity, raise_alert, resolve_alert

logger = logging.getLogger(__name__)
PROBE_ALERT = "EnvironmentDown"
PROBE_SOURCE = "environments.probe"


@dataclass
class VariableReport:
    environment: str
    ok: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def passed(self):
        return not (self.missing or self.wrong or self.unexpected)


def check_variables(environment: Environment, values: Mapping[str, str]) -> VariableReport:
    """Compare a process environment with what `environment` requires. Never quotes a value it was given."""
    report = VariableReport(environment=environment.name)
    required = {v.name: v for v in environment.required_variables.all()}
    for name, variable in sorted(required.items()):
        given = (values.get(name) or "").strip()
        if not given:
            report.missing.append(f"{name} ({variable.get_scope_display().lower()})")
        elif variable.expected_value and given.lower() != variable.expected_value.lower():
            report.wrong.append(f"{name} must be {variable.expected_value!r}")
        else:
            report.ok.append(name)

    # What another environment requires and this one does not, set here, is a leak across tiers:
    # DEBUG=true in production, or a live Stripe key on a dev server.
    elsewhere = (
        RequiredVariable.objects.exclude(environment=environment)
        .exclude(name__in=required)
        .select_related("environment")
        .order_by("name", "environment__order")
    )
    flagged = set()
    for variable in elsewhere:
        given = (values.get(variable.name) or "").strip()
        if not given or variable.name in flagged:
            continue
        if variable.expected_value and given.lower() != variable.expected_value.lower():
            continue
        flagged.add(variable.name)
        shown = f"={variable.expected_value}" if variable.expected_value and not variable.secret else " is set"
        report.unexpected.append(
            f"{variable.name}{shown}: {variable.get_scope_display().lower()}, not for {environment.name.lower()}"
        )
    return report


def queue_health_checks(*, environment_ids=None) -> tuple[list[int], list[str]]:
    """Enqueue one probe per environment (all when `environment_ids` is None), on commit.

    Returns (ids queued, names skipped because their health checks are off).
    """
    environments = Environment.objects.order_by("order")
    if environment_ids is not None:
        environments = environments.filter(pk__in=list(environment_ids))
    queued, skipped = [], []
    for pk, name, enabled in environments.values_list("pk", "name", "health_check_enabled"):
        if enabled:
            enqueue(HEALTH_CHECK_TASK, pk)
            queued.append(pk)
        else:
            skipped.append(name)
    return queued, skipped


def probe_environment(environment_id: int, *, timeout: float | None = None) -> HealthCheck:
    """GET the environment's health URL and record the outcome, both on the row and in its history."""
    import requests  # heavy (~0.2 s): only the probe needs it, not every command at start-up

    environment = Environment.objects.get(pk=environment_id)
    timeout = settings.OPS_HEALTH_CHECK_TIMEOUT if timeout is None else timeout
    started = time.monotonic()
    http_status = None
    try:
        response = requests.get(environment.health_url, timeout=timeout, allow_redirects=False)
        http_status = response.status_code
        status = HealthStatus.UP if response.status_code < 400 else HealthStatus.DOWN
        detail = f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        status, detail = HealthStatus.DOWN, _describe(exc)
    latency_ms = round((time.monotonic() - started) * 1000, 1)
    now = timezone.now()

    with transaction.atomic():
        check = HealthCheck.objects.create(
            environment=environment,
            checked_at=now,
            status=status,
            http_status=http_status,
            latency_ms=latency_ms if http_status is not None else None,
            detail=detail[:300],
        )
        # Only move the "last" fields forward, so a late retry cannot overwrite a newer result.
        Environment.objects.filter(pk=environment.pk).exclude(last_health_checked_at__gt=now).update(
            last_health_status=status,
            last_health_checked_at=now,
            last_health_latency_ms=check.latency_ms,
            last_health_detail=check.detail,
        )
        _prune_history(environment.pk)
    alert_on_probe(environment, check)
    return check


def probe_alert_severity(environment: Environment) -> str:
    """An environment with alerting on (production) pages: critical, which opens an incident. Others warn on-call."""
    return AlertSeverity.CRITICAL if environment.alerting_enabled else AlertSeverity.WARNING


def alert_on_probe(environment: Environment, check: HealthCheck) -> None:
    """A down probe raises the environment's EnvironmentDown alert (once while it stays down); an up probe
    resolves it. Alerting failing never loses the probe's record, which is already committed."""
    try:
        if check.status == HealthStatus.DOWN:
            raise_alert(environment=environment, name=PROBE_ALERT, severity=probe_alert_severity(environment),
                        summary=f"{environment.name} health probe failed: {check.detail} ({environment.health_url})",
                        source=PROBE_SOURCE)  # fmt: skip
        elif check.status == HealthStatus.UP:
            resolve_alert(environment=environment, name=PROBE_ALERT)
    except Exception:  # noqa: BLE001 - the probe's outcome stands; the failure is logged for ops
        logger.exception("could not raise or resolve the probe alert of %s", environment.key)


def _prune_history(environment_id):
    keep = settings.OPS_HEALTH_CHECK_HISTORY
    cutoff = (
        HealthCheck.objects.filter(environment_id=environment_id)
        .order_by("-checked_at")
        .values_list("checked_at", flat=True)[keep : keep + 1]
    )
    cutoff = list(cutoff)
    if cutoff:
        HealthCheck.objects.filter(environment_id=environment_id, checked_at__lte=cutoff[0]).delete()


def _describe(exc) -> str:
    import requests

    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        # urllib3 wraps the cause (DNS, refused, TLS) in a retry error; the cause is what ops need.
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        text = str(reason or exc)
        return f"connection failed: {text.split('): ', 1)[-1]}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]
