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
from environments.public import Environment
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
            author=who,
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


def request_silence_sync():
    enqueue(strategy.SILENCE_SYNC_TASK)


def _am_time(value):
    from monitoring.alerts import _time

    return _time(value, "a silence's time")


def _record_silence(found: dict) -> Silence:
    """A silence made outside the console (amtool, Alertmanager's UI or API): recorded with its who/until/why."""
    matchers = [
        {"name": m["name"], "value": m["value"], "isRegex": m.get("isRegex", False), "isEqual": m.get("isEqual", True)}
        for m in found.get("matchers", [])
    ]
    env_key = next((m["value"] for m in matchers if m["name"] == "environment" and m["isEqual"]
                    and not m["isRegex"]), None)  # fmt: skip
    environment = Environment.objects.filter(key=env_key).first() if env_key else None
    row, _ = Silence.objects.get_or_create(
        alertmanager_id=found["id"],
        defaults={
            "author": str(found.get("createdBy", ""))[:200],
            "comment": str(found.get("comment", "")),
            "matchers": matchers,
            "environment": environment,
            "starts_at": _am_time(found.get("startsAt")) or timezone.now(),
            "ends_at": _am_time(found.get("endsAt")) or timezone.now(),
        },
    )
    return row


def sync_silences() -> str:
    """Alertmanager's silences, whoever made them. Each active one is recorded (who, until, why: createdBy,
    endsAt, comment) and marks silenced the alerts Alertmanager says it silences (its own matching, read from
    /api/v2/alerts `silencedBy`). One that ended there (expired, or gone) ends here, and the alerts it held
    and Alertmanager no longer mutes are cleared: back to firing, on-call told, or resolved if they are gone.
    Idempotent: a second run changes nothing."""
    from monitoring.alerts import _notify

    engine = drivers.alertmanager_engine()
    if engine is None:
        return "no Alertmanager configured"
    listed = {s["id"]: s for s in engine.silences()}
    active = {sid: s for sid, s in listed.items() if s.get("status", {}).get("state") == "active"}
    known = {row.alertmanager_id: row for row in Silence.objects.filter(alertmanager_id__in=list(active))}
    recorded = 0
    for sid, found in active.items():
        if sid not in known:
            known[sid] = _record_silence(found)
            recorded += 1

    in_alertmanager, muted_by = set(), {}
    for item in engine.alerts():
        in_alertmanager.add(item.get("fingerprint"))
        ids = [i for i in item.get("status", {}).get("silencedBy") or [] if i in known]
        if ids:
            muted_by[item["fingerprint"]] = known[ids[0]]
    marked = 0
    unmuted = [AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED]
    for alert in Alert.objects.filter(fingerprint__in=list(muted_by), status__in=unmuted):
        row = muted_by[alert.fingerprint]
        with transaction.atomic():
            alert.silence = row
            alert.save(update_fields=["silence"])
            change_status(alert, AlertStatus.SILENCED, actor="alertmanager",
                          reason=f"silenced in Alertmanager by {row.who} until {row.ends_at:%Y-%m-%d %H:%M} UTC: "
                          f"{row.comment}")  # fmt: skip
        marked += 1

    now = timezone.now()
    ended = 0
    for row in Silence.objects.filter(expired_at__isnull=True):
        if row.alertmanager_id not in active:
            row.expired_at = now
            row.save(update_fields=["expired_at"])
            ended += 1

    resumed, resolved = [], 0
    held = Alert.objects.filter(status=AlertStatus.SILENCED, source="alertmanager").exclude(
        fingerprint__in=list(muted_by)
    )
    for alert in held.select_related("silence", "environment"):
        if alert.silence is not None and alert.silence.alertmanager_id in active:
            continue  # Alertmanager has not re-evaluated it yet: the next run decides
        with transaction.atomic():
            alert.silence = None
            alert.save(update_fields=["silence"])
            if alert.fingerprint in in_alertmanager:
                change_status(alert, AlertStatus.FIRING, actor="alertmanager", reason="silence ended: still firing")
                resumed.append(alert)
            else:
                change_status(alert, AlertStatus.RESOLVED, actor="alertmanager",
                              reason="silence ended: no longer in Alertmanager", fields={"ends_at": now})  # fmt: skip
                resolved += 1
    if resumed:
        with transaction.atomic():
            _notify(resumed, "firing")
    return (
        f"{len(listed)} silences in Alertmanager ({recorded} new here), {marked} alerts marked silenced, "
        f"{ended} silences ended here, {len(resumed)} alerts firing again, {resolved} resolved"
    )
