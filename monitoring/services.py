"""Monitoring's write paths: catalog, thresholds and targets (checked by promtool before saving), the
generated configuration, acknowledgements and silences. Alert ingestion lives in `alerts.py`.
Keyword-only; the admin, API, commands and tasks share them."""

import logging
import math
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.status import change_status
from core.tasks import enqueue
from monitoring import conf, config, drivers, strategy
from monitoring.choices import ACTIVE, AlertStatus
from monitoring.exceptions import MonitoringRefused
from monitoring.models import Alert, Metric, ScrapeTarget, Silence, Threshold

logger = logging.getLogger(__name__)


def _message(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return " ".join(f"{msg}" for msgs in error.message_dict.values() for msg in msgs)
    return " ".join(error.messages)


def _validate(obj):
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise MonitoringRefused(_message(exc)) from None


def _number(value, what):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MonitoringRefused(f"The {what} threshold must be a number, not {value!r}.") from None
    if not math.isfinite(number):
        raise MonitoringRefused(f"The {what} threshold must be a finite number, not {value!r}.")
    return number


# --- Catalog, thresholds, targets --------------------------------------------------------------------


def update_threshold(*, threshold_id, warning, critical, for_seconds=None, user=None) -> Threshold:
    """Edit one environment's thresholds. A bad value is refused with a message and nothing changes."""
    warning, critical = _number(warning, "warning"), _number(critical, "critical")
    with transaction.atomic():
        threshold = Threshold.objects.select_for_update().select_related("metric", "environment").get(pk=threshold_id)
        threshold.warning, threshold.critical = warning, critical
        if for_seconds is not None:
            try:
                threshold.for_seconds = int(for_seconds)
            except (TypeError, ValueError):
                raise MonitoringRefused(f"'for' must be a whole number of seconds, not {for_seconds!r}.") from None
            if threshold.for_seconds < 0:
                raise MonitoringRefused("'for' cannot be negative.")
        return save_threshold(threshold=threshold, user=user)


def save_threshold(*, threshold: Threshold, user=None) -> Threshold:
    """Save a threshold the admin form or update_threshold built, after promtool accepted the rules."""
    _validate(threshold)
    others = list(
        Threshold.objects.select_related("metric", "environment")
        .filter(environment__alerting_enabled=True)
        .exclude(pk=threshold.pk)
    )
    config.check_rules(
        {
            config.RECORDING_FILE: config._dump(config.recording_rules()),
            config.ALERTING_FILE: config._dump(config.alerting_rules([*others, threshold])),
        }
    )
    with transaction.atomic():
        threshold.save()
        request_apply()
    return threshold


def save_metric(*, metric: Metric, user=None) -> Metric:
    """Save a catalog metric (new or edited) once its recording rule passes promtool."""
    _validate(metric)
    metrics = [m for m in Metric.objects.all() if m.pk != metric.pk] + [metric]
    config.check_rules(
        {
            config.RECORDING_FILE: config._dump(config.recording_rules(metrics)),
            config.ALERTING_FILE: config._dump({"groups": []}),
        }
    )
    with transaction.atomic():
        metric.save()
        request_apply()
    return metric


def save_target(*, target: ScrapeTarget, user=None) -> ScrapeTarget:
    _validate(target)
    with transaction.atomic():
        target.save()
        request_apply()
    return target


def save_oncall(*, oncall, user=None):
    """An environment's on-call address (warnings go there; critical alerts too, beside the incident)."""
    _validate(oncall)
    oncall.save()
    return oncall


def delete_rows(*, queryset, user=None) -> int:
    """Delete catalog rows, thresholds or targets; the engines get the new configuration on commit."""
    with transaction.atomic():
        count = queryset.count()
        queryset.delete()
        request_apply()
    return count


def request_apply():
    """Regenerate and reload once the current transaction commits (through Celery)."""
    enqueue(strategy.APPLY_TASK)


def apply_configuration(*, force=True) -> str:
    """Render, check, write where the engines read, and reload them. Refused: nothing is written.
    Without `force`, a configuration identical to what is on disk is left alone (the periodic run)."""
    directory = conf.config_dir()
    if not directory:
        return "OPS_MONITORING_CONFIG_DIR is not set: nothing written (export with manage.py export_monitoring)"
    files = config.render(directory=directory)
    if not force and config.unchanged(files, directory, token=conf.webhook_token()):
        return f"unchanged: {directory} already holds this configuration"
    config.check(files)
    config.write(files, directory, token=conf.webhook_token())
    done = [f"{len(files)} files written to {directory}"]
    for engine in (drivers.prometheus_engine(), drivers.alertmanager_engine()):
        if engine is not None:
            done.append(engine.reload())
    return "; ".join(done)


# --- Acknowledgements and silences ---------------------------------------------------------------------


def acknowledge(*, alert_id, user, reason="") -> bool:
    alert = Alert.objects.get(pk=alert_id)
    with transaction.atomic():
        change = change_status(
            alert,
            AlertStatus.ACKNOWLEDGED,
            actor="person",
            user=user,
            reason=reason or "acknowledged",
            fields={"acknowledged_by": user, "acknowledged_at": timezone.now()},
        )
    return bool(change)


def silence(*, alert_ids, hours, reason, user) -> Silence:
    """Silence alerts in Alertmanager (API v2) for `hours`: one silence on their shared labels."""
    if not str(reason or "").strip():
        raise MonitoringRefused("Say why: a silence needs a reason.")
    try:
        hours = float(hours)
    except (TypeError, ValueError):
        raise MonitoringRefused(f"The duration must be a number of hours, not {hours!r}.") from None
    if not 0 < hours <= 24 * 14:
        raise MonitoringRefused("A silence lasts more than 0 and at most 336 hours (two weeks).")
    alerts = list(Alert.objects.filter(pk__in=alert_ids))
    if not alerts:
        raise MonitoringRefused("Choose the alerts to silence.")
    common = dict(alerts[0].labels)
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    if "alertname" not in common:
        raise MonitoringRefused("Silence alerts of one name at a time (their labels share nothing to match on).")
    engine = drivers.alertmanager_engine()
    if engine is None:
        raise MonitoringRefused("No Alertmanager is configured (OPS_MONITORING_ALERTMANAGER_URL).")
    now = timezone.now()
    ends = now + timedelta(hours=hours)
    who = getattr(user, "username", "") or "console"
    silence_id = engine.create_silence(matchers=common, starts_at=now, ends_at=ends, created_by=who, comment=reason)
    environments = {a.environment_id for a in alerts}
    with transaction.atomic():
        row = Silence.objects.create(
            alertmanager_id=silence_id,
            environment_id=environments.pop() if len(environments) == 1 else None,
            matchers=[{"name": k, "value": v} for k, v in common.items()],
            comment=reason,
            created_by=user,
            starts_at=now,
            ends_at=ends,
        )
        for alert in alerts:
            alert.silence = row
            alert.save(update_fields=["silence"])
            if alert.status in ACTIVE:
                change_status(alert, AlertStatus.SILENCED, actor="person", user=user,
                              reason=f"silenced until {ends:%Y-%m-%d %H:%M} UTC: {reason}")  # fmt: skip
    return row


def expire_silence(*, silence_id, user) -> Silence:
    row = Silence.objects.get(pk=silence_id)
    if row.expired_at is not None:
        return row
    engine = drivers.alertmanager_engine()
    if engine is None:
        raise MonitoringRefused("No Alertmanager is configured (OPS_MONITORING_ALERTMANAGER_URL).")
    engine.expire_silence(row.alertmanager_id)
    with transaction.atomic():
        row.expired_at, row.expired_by = timezone.now(), user
        row.save(update_fields=["expired_at", "expired_by"])
    # Its alerts stay "silenced" until Alertmanager notifies them again: that notification is what moves
    # them back to firing and tells on-call, so nothing is said twice.
    return row


def sync_silences() -> str:
    """Read Alertmanager's silences: ones that ended there (or were expired with amtool) end here too."""
    engine = drivers.alertmanager_engine()
    if engine is None:
        return "no Alertmanager configured"
    states = {s["id"]: s["status"]["state"] for s in engine.silences()}
    ended = 0
    for row in Silence.objects.filter(expired_at__isnull=True):
        if states.get(row.alertmanager_id, "expired") == "expired":
            row.expired_at = timezone.now()
            row.save(update_fields=["expired_at"])
            ended += 1
    return f"{len(states)} silences in Alertmanager, {ended} ended here"
