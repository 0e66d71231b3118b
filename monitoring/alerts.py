"""The one alerting path: Alertmanager's webhook and the console's own checks land here, as Alert rows.

A critical alert opens an incident for its environment, or joins the one already open for that
environment and alert name; every alert that starts firing or resolves tells the environment's
on-call channel; a resolution is written into the incident's timeline. Ingestion is bulk (a few
queries per notification, however many alerts it carries) and idempotent: the same notification
twice changes nothing.
"""

import hashlib
import json
import logging
import re
from collections import defaultdict
from datetime import UTC, datetime

from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from core.http import BodyRefused, parse_json
from core.status import allowed
from core.tasks import enqueue
from environments.public import Environment
from incidents.public import SIGNATURE_HEADER, Incident, Severity, Source, add_entry, open_incident, sign
from incidents.public import webhook_secret as incident_webhook_secret
from incidents.public import webhook_url as incident_webhook_url
from monitoring import strategy
from monitoring.choices import ACTIVE, AlertSeverity, AlertStatus
from monitoring.exceptions import MonitoringRefused, PayloadInvalid
from monitoring.models import Alert, AlertEvent, AlertNotification, OnCall

logger = logging.getLogger(__name__)
S = AlertStatus

_FRACTION = re.compile(r"(\.\d{6})\d+")
_ZERO_TIME = "0001-01-01T00:00:00Z"
_FINGERPRINT = re.compile(r"^[A-Za-z0-9:_\-]{1,64}$")


# --- Parsing ------------------------------------------------------------------------------------------


def _time(value, what):
    if value in (None, "", _ZERO_TIME):
        return None
    if not isinstance(value, str):
        raise PayloadInvalid(f"{what} must be an RFC 3339 time, not {value!r}.")
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadInvalid(f"{what} is not an RFC 3339 time: {value!r}.") from None
    if parsed.year <= 1:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _strings(value, what):
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise PayloadInvalid(f"{what} must be an object of strings.")
    return value


def parse_webhook(body: bytes) -> list[dict]:
    """Alertmanager's webhook (version 4) as a list of alerts; PayloadInvalid says what is wrong."""
    try:
        payload = parse_json(body)
    except BodyRefused as exc:
        raise PayloadInvalid(exc.message[:1].upper() + exc.message[1:] + ".") from None
    if not isinstance(payload, dict):
        raise PayloadInvalid("The body must be a JSON object (Alertmanager's webhook payload).")
    if str(payload.get("version")) != "4":
        raise PayloadInvalid(f"Only Alertmanager's webhook version 4 is understood, not {payload.get('version')!r}.")
    items = payload.get("alerts")
    if not isinstance(items, list):
        raise PayloadInvalid("'alerts' must be a list.")
    alerts = []
    for i, item in enumerate(items):
        where = f"alerts[{i}]"
        if not isinstance(item, dict):
            raise PayloadInvalid(f"{where} must be an object.")
        status = item.get("status")
        if status not in (S.FIRING, S.RESOLVED):
            raise PayloadInvalid(f"{where}.status must be 'firing' or 'resolved', not {status!r}.")
        fingerprint = item.get("fingerprint")
        if not isinstance(fingerprint, str) or not _FINGERPRINT.match(fingerprint):
            raise PayloadInvalid(f"{where}.fingerprint is missing or malformed.")
        labels = _strings(item.get("labels"), f"{where}.labels")
        if not labels.get("alertname"):
            raise PayloadInvalid(f"{where}.labels has no alertname.")
        starts_at = _time(item.get("startsAt"), f"{where}.startsAt")
        if starts_at is None:
            raise PayloadInvalid(f"{where}.startsAt is required.")
        alerts.append(
            {
                "fingerprint": fingerprint,
                "status": status,
                "labels": labels,
                "annotations": _strings(item.get("annotations") or {}, f"{where}.annotations"),
                "starts_at": starts_at,
                "ends_at": _time(item.get("endsAt"), f"{where}.endsAt"),
            }
        )
    return alerts


# --- Ingestion ----------------------------------------------------------------------------------------


def ingest_webhook(body: bytes) -> dict:
    """Parse and ingest one Alertmanager notification. Two deliveries racing to create the same new
    alert: the loser's insert fails on the unique fingerprint, and one more pass finds the row."""
    parsed = parse_webhook(body)
    try:
        return ingest(alerts=parsed, source="alertmanager")
    except IntegrityError:
        return ingest(alerts=parsed, source="alertmanager")


def _target(row, item):
    """Where an existing row goes for this notification, or None (nothing new: idempotent)."""
    if item["status"] == S.FIRING:
        if row.status == S.SILENCED:
            return S.FIRING  # Alertmanager notifies a silenced alert again only once its silence ended
        if row.status == S.RESOLVED and item["starts_at"] > row.starts_at:
            return S.FIRING  # the same labels firing again: a new episode
        return None
    if row.status == S.RESOLVED:
        return None
    if item["ends_at"] and item["ends_at"] < row.starts_at:
        return None  # the resolution of an earlier episode, arriving late
    return S.RESOLVED


def ingest(*, alerts: list[dict], source: str = "alertmanager") -> dict:
    """Apply parsed alerts. Returns counts; all or nothing."""
    now = timezone.now()
    by_fingerprint = {a["fingerprint"]: a for a in alerts}
    environments = {e.key: e for e in Environment.objects.all()}
    with transaction.atomic():
        existing = {
            a.fingerprint: a for a in Alert.objects.select_for_update().filter(fingerprint__in=list(by_fingerprint))
        }
        created, changed, events, fired, resolved = [], [], [], [], []
        for fingerprint, item in by_fingerprint.items():
            row = existing.get(fingerprint)
            labels = item["labels"]
            if row is None:
                severity = labels.get("severity", AlertSeverity.WARNING)[:16]
                row = Alert(
                    fingerprint=fingerprint,
                    name=labels["alertname"][:200],
                    environment=environments.get(labels.get("environment", "")),
                    severity=severity,
                    status=item["status"],
                    labels=labels,
                    summary=(item["annotations"].get("summary") or item["annotations"].get("description") or "")[:500],
                    source=source[:40],
                    starts_at=item["starts_at"],
                    ends_at=(item["ends_at"] or now) if item["status"] == S.RESOLVED else None,
                    updated_at=now,
                )
                created.append(row)
                (fired if row.status == S.FIRING else resolved).append(row)
                continue
            target = _target(row, item)
            if target is None or not allowed(row, target):
                continue
            old = row.status
            row.status, row.updated_at = target, now
            if target == S.FIRING:
                row.starts_at, row.ends_at = item["starts_at"], None
                fired.append(row)
            else:
                row.ends_at = item["ends_at"] or now
                resolved.append(row)
            changed.append(row)
            events.append(AlertEvent(alert=row, at=now, old_status=old, new_status=target, actor=source[:40],
                                     reason=_reason(target, item)))  # fmt: skip
        # A claim by bulk UPDATE on rows locked above, with their event rows in the same transaction.
        Alert.objects.bulk_create(created)
        events += [
            AlertEvent(
                alert=row,
                at=now,
                old_status="",
                new_status=row.status,
                actor=source[:40],
                reason=_reason(row.status, by_fingerprint[row.fingerprint]),
            )  # fmt: skip
            for row in created
        ]
        if changed:
            Alert.objects.bulk_update(changed, ["status", "starts_at", "ends_at", "updated_at"])
        AlertEvent.objects.bulk_create(events)
        _open_or_join_incidents([r for r in fired if r.severity == AlertSeverity.CRITICAL and r.environment_id], now)
        _write_resolutions([r for r in resolved if r.incident_id])
        _notify(fired, "firing")
        _notify(resolved, "resolved")
    return {"received": len(alerts), "created": len(created), "changed": len(changed)}


def _reason(status, item):
    summary = item["annotations"].get("summary", "")
    value = item["annotations"].get("value", "")
    text = "firing" if status == S.FIRING else "resolved"
    return " ".join(part for part in (text + ":", summary, f"(value {value})" if value else "") if part)[:1000]


def _lock(key: str):
    """Serialise incident decisions per environment and alert name across web processes."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


def _critical_severity():
    severity = Severity.objects.filter(key="critical").first() or Severity.objects.order_by("order").first()
    if severity is None:
        raise MonitoringRefused("No incident severities are defined: run `manage.py seed_strategy`.")
    return severity


def _incident_severity(members):
    """A console check may ask for another incident severity than critical (label incident_severity)."""
    wanted = {m.labels.get("incident_severity") for m in members} - {None, ""}
    chosen = Severity.objects.filter(key__in=wanted).order_by("order").first() if wanted else None
    return chosen or _critical_severity()


def _open_incident_of(environment_id, name):
    ids = (
        Alert.objects.filter(environment_id=environment_id, name=name, incident__isnull=False)
        .values_list("incident_id", flat=True)
        .distinct()
    )
    for incident in Incident.objects.filter(pk__in=list(ids)).order_by("-opened_at"):
        if incident.is_open:
            return incident
    return None


def _open_or_join_incidents(rows, now):
    groups = defaultdict(list)
    for row in rows:
        groups[(row.environment_id, row.name)].append(row)
    for (environment_id, name), members in groups.items():
        _lock(f"monitoring:incident:{environment_id}:{name}")
        environment = members[0].environment
        incident = _open_incident_of(environment_id, name)
        summaries = "; ".join(sorted({m.summary or m.name for m in members}))
        if incident is None:
            started = min(min(m.starts_at for m in members), now)
            incident = open_incident(
                title=f"Critical alert {name} on {environment}"[:200],
                environment=environment,
                severity=_incident_severity(members),
                started_at=started,
                detected_at=now,
                source=Source.ALERT,
                cause_key=f"alert:{name}",
                opened_text=f"Opened by the critical alert {name} ({_origin(members)}): {summaries}",
            )
        else:
            text = f"The critical alert {name} fired again and joins this incident: {summaries}"
            add_entry(incident=incident, kind="alert", source=Source.ALERT, text=text)
        Alert.objects.filter(pk__in=[m.pk for m in members]).update(incident=incident)
        for member in members:
            member.incident = incident


def _origin(members):
    sources = sorted({m.source for m in members})
    return ", ".join("Alertmanager" if s == "alertmanager" else f"console check {s}" for s in sources)


def _write_resolutions(rows):
    by_incident = defaultdict(list)
    for row in rows:
        by_incident[row.incident_id].append(row)
    incidents = {i.pk: i for i in Incident.objects.filter(pk__in=list(by_incident))}
    for incident_id, members in by_incident.items():
        names = ", ".join(sorted({f"{m.name} ({m.severity})" for m in members}))
        ended = max(m.ends_at for m in members)
        add_entry(
            incident=incidents[incident_id],
            kind="alert",
            source="alert",
            at=timezone.now(),
            text=f"Alert resolved: {names} on {members[0].environment}, back under threshold at "
            f"{ended:%Y-%m-%d %H:%M:%S} UTC.",
        )


def _notify(rows, event):
    by_environment = defaultdict(list)
    for row in rows:
        if row.environment_id:
            by_environment[row.environment_id].append(row)
    if not by_environment:
        return
    oncall = dict(OnCall.objects.filter(environment_id__in=list(by_environment)).values_list("environment_id", "email"))
    hook = incident_webhook_url()
    through = AlertNotification.alerts.through
    links = []
    for environment_id, members in by_environment.items():
        channels = [("email", oncall.get(environment_id, ""))] + ([("webhook", hook)] if hook else [])
        for channel, recipients in channels:
            notification = AlertNotification.objects.create(
                environment_id=environment_id,
                event=event,
                channel=channel,
                recipients=recipients,
                subject=_subject(members, event),
                body=_body(members, event),
            )
            links += [through(alertnotification_id=notification.pk, alert_id=m.pk) for m in members]
            enqueue(strategy.NOTIFY_TASK, notification.pk)
    through.objects.bulk_create(links)


def _subject(members, event):
    worst = (
        AlertSeverity.CRITICAL if any(m.severity == AlertSeverity.CRITICAL for m in members) else members[0].severity
    )
    names = ", ".join(sorted({m.name for m in members}))
    verb = "firing" if event == "firing" else "resolved"
    return (
        f"[{worst}] {len(members)} alert{'s' if len(members) != 1 else ''} {verb} on {members[0].environment}: {names}"[
            :300
        ]
    )


def _body(members, event):
    from django.conf import settings

    site = getattr(settings, "SITE_URL", "").rstrip("/")
    lines = []
    for m in members[:200]:
        when = m.starts_at if event == "firing" else m.ends_at
        line = f"{m.severity.upper()} {m.name}: {m.summary or '(no summary)'} ({event} {when:%Y-%m-%d %H:%M:%S} UTC)"
        if m.incident_id:
            line += f" — incident #{m.incident_id}"
        lines.append(line)
    if len(members) > 200:
        lines.append(f"… and {len(members) - 200} more")
    lines += ["", site + reverse("admin:monitoring_alert_changelist")]
    return "\n".join(lines)


def deliver(*, notification_id, final=False) -> str:
    """One try at sending a notification by email; recorded on the row, raised for the task to retry."""
    from django.core.mail import EmailMessage

    notification = AlertNotification.objects.get(pk=notification_id)
    if notification.ok:
        return "already sent"
    notification.attempts += 1
    if not notification.recipients:
        notification.error, notification.final = "No on-call address for this environment.", True
        notification.save(update_fields=["attempts", "error", "final"])
        return notification.error
    try:
        if notification.channel == "webhook":
            _post_webhook(notification)
        else:
            EmailMessage(notification.subject, notification.body, to=[notification.recipients]).send(
                fail_silently=False
            )
    except Exception as exc:
        notification.error = f"{type(exc).__name__}: {exc}"[:1000]
        notification.final = final
        notification.save(update_fields=["attempts", "error", "final"])
        logger.warning("alert notification #%s attempt %s failed: %s", notification.pk, notification.attempts, exc)
        raise
    notification.ok, notification.final, notification.sent_at, notification.error = True, True, timezone.now(), ""
    notification.save(update_fields=["attempts", "ok", "final", "sent_at", "error"])
    return f"sent to {notification.recipients}"


def webhook_payload(notification) -> dict:
    alerts = notification.alerts.select_related("environment").order_by("pk")
    return {
        "event": f"alert_{notification.event}",
        "environment": notification.environment.key if notification.environment_id else None,
        "subject": notification.subject,
        "alerts": [
            {
                "name": a.name,
                "severity": a.severity,
                "status": a.status,
                "summary": a.summary,
                "labels": a.labels,
                "starts_at": a.starts_at.isoformat(),
                "ends_at": a.ends_at.isoformat() if a.ends_at else None,
                "incident": a.incident_id,
            }  # fmt: skip
            for a in alerts
        ],
    }


def _post_webhook(notification):
    """The incidents app's chat webhook, signed the same way (HMAC-SHA256 of the body)."""
    import requests

    secret, url = incident_webhook_secret(), notification.recipients
    if not secret:
        raise PermissionError("OPS_INCIDENT_WEBHOOK_SECRET is not set: the webhook is never sent unsigned")
    if not url.startswith(("https://", "http://")):
        raise PermissionError("OPS_INCIDENT_WEBHOOK_URL must be an http(s) URL")
    body = json.dumps(webhook_payload(notification), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "X-Ops-Event": f"alert_{notification.event}",
               SIGNATURE_HEADER: sign(secret, body)}  # fmt: skip
    response = requests.post(url, data=body, headers=headers, timeout=10)
    response.raise_for_status()


# --- The console's own checks ---------------------------------------------------------------------------


def console_fingerprint(labels: dict) -> str:
    text = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return "console:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _console_labels(environment, name, labels):
    if not str(name or "").strip():
        raise MonitoringRefused("An alert needs a name.")
    extra = {str(k): str(v) for k, v in (labels or {}).items()}
    return {**extra, "alertname": str(name), "environment": environment.key}


def raise_alert(*, environment, name, severity, summary, source, labels=None) -> dict:
    if severity not in AlertSeverity.values:
        raise MonitoringRefused(f"Severity must be one of {', '.join(AlertSeverity.values)}, not {severity!r}.")
    labels = {**_console_labels(environment, name, labels), "severity": severity}
    item = {
        "fingerprint": console_fingerprint(labels),
        "status": S.FIRING,
        "labels": labels,
        "annotations": {"summary": str(summary)},
        "starts_at": timezone.now(),
        "ends_at": None,
    }
    return ingest(alerts=[item], source=source)


def active_alerts(*, environment=None, source=None, labels=None):
    """Alerts still active (firing, silenced, acknowledged), newest first, optionally of one environment,
    one source (a console check's name) and carrying these labels."""
    rows = Alert.objects.filter(status__in=ACTIVE).select_related("environment")
    if environment is not None:
        rows = rows.filter(environment_id=environment.pk)
    if source is not None:
        rows = rows.filter(source=source)
    if labels:
        rows = rows.filter(labels__contains={str(k): str(v) for k, v in labels.items()})
    return rows


def resolve_alert(*, environment, name, labels=None) -> dict:
    wanted = _console_labels(environment, name, labels)
    rows = Alert.objects.filter(environment_id=environment.pk, name=name, status__in=ACTIVE).exclude(
        source="alertmanager"
    )
    now = timezone.now()
    matching = [r for r in rows if all(r.labels.get(k) == v for k, v in wanted.items())]
    if not matching:
        return {"received": 0, "created": 0, "changed": 0}
    items = [
        {
            "fingerprint": r.fingerprint,
            "status": S.RESOLVED,
            "labels": r.labels,
            "annotations": {"summary": r.summary},
            "starts_at": r.starts_at,
            "ends_at": now,
        }  # fmt: skip
        for r in matching
    ]
    return ingest(alerts=items, source=matching[0].source)
