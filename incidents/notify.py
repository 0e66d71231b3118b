"""What the notifications say and how they travel: Django email (console locally, SMTP in production)
and an optional generic webhook, JSON signed with HMAC-SHA256 over the body."""

import hashlib
import hmac
import json
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse

from incidents import conf

SIGNATURE_HEADER = "X-Ops-Signature-256"


def incident_url(incident):
    return conf.site_url() + reverse("admin:incidents_incident_change", args=[incident.pk])


def recipients(incident, event, action_item=None):
    if event == "postmortem":
        return incident.attendee_emails()
    if event == "action_overdue" and action_item is not None:
        return [action_item.owner]
    if event.startswith("reminder_") and incident.owner_id and incident.owner.email:
        return [incident.owner.email]
    return list(incident.stakeholders.values_list("email", flat=True))


def subject(incident, event, action_item=None):
    head = f"[{incident.severity}] Incident #{incident.pk}"
    return {
        "opened": f"{head} opened: {incident.title}",
        "status": f"{head} is {incident.get_status_display().lower()}: {incident.title}",
        "resolved": f"{head} resolved: {incident.title}",
        "postmortem": f"Post-mortem: incident #{incident.pk} {incident.title}",
        "reminder_report": f"{head}: the report is incomplete",
        "reminder_postmortem": f"{head}: no post-mortem scheduled yet",
        "action_overdue": f"{head}: action item overdue: {action_item.title if action_item else ''}",
    }.get(event, f"{head}: {event}")


def body(incident, event, action_item=None):
    lines = [
        f"{incident.title}",
        f"Environment: {incident.environment}  Severity: {incident.severity}  Status: {incident.get_status_display()}",
    ]
    if incident.release_id:
        lines.append(f"Release: {incident.release}")
    if event == "reminder_report":
        lines.append("Still missing: " + ", ".join(incident.missing_report_fields()))
    if event == "action_overdue" and action_item is not None:
        lines.append(f"Action item: {action_item.title}, due {action_item.due_date:%Y-%m-%d}")
    if event == "postmortem" and incident.postmortem_at:
        lines.append(f"Post-mortem: {incident.postmortem_at:%Y-%m-%d %H:%M} UTC, {incident.postmortem_minutes} min")
    lines += ["", incident_url(incident)]
    return "\n".join(lines)


def _ics_text(value):
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def ics(incident, *, stamp):
    """An iCalendar REQUEST for the post-mortem (RFC 5545), CRLF line ends."""
    start = incident.postmortem_at
    end = start + timedelta(minutes=incident.postmortem_minutes)
    fmt = "%Y%m%dT%H%M%SZ"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//AMARISE//Ops Console//EN",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        f"UID:incident-{incident.pk}-postmortem@amarise-ops",
        f"SEQUENCE:{int(stamp.timestamp())}",
        f"DTSTAMP:{stamp.strftime(fmt)}",
        f"DTSTART:{start.strftime(fmt)}",
        f"DTEND:{end.strftime(fmt)}",
        f"SUMMARY:{_ics_text(f'Post-mortem: incident #{incident.pk} {incident.title}')}",
        f"DESCRIPTION:{_ics_text(incident_url(incident))}",
        f"ORGANIZER:mailto:{settings.DEFAULT_FROM_EMAIL}",
        *[f"ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{email}" for email in incident.attendee_emails()],
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def send_email(incident, event, *, action_item=None, stamp=None):
    to = recipients(incident, event, action_item)
    if not to:
        return ""
    message = EmailMessage(subject(incident, event, action_item), body(incident, event, action_item), to=to)
    if event == "postmortem":
        message.attach("postmortem.ics", ics(incident, stamp=stamp), "text/calendar; method=REQUEST")
    message.send(fail_silently=False)
    return ", ".join(to)


def webhook_payload(incident, event):
    return {
        "event": event,
        "incident": {
            "id": incident.pk,
            "title": incident.title,
            "environment": incident.environment.key,
            "severity": incident.severity.key,
            "status": incident.status,
            "release": str(incident.release) if incident.release_id else None,
            "url": incident_url(incident),
        },
    }


def sign(secret: str, payload: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def post_webhook(incident, event):
    return _post_signed(webhook_payload(incident, event), event)


def send_release_email(*, subject: str, text: str) -> str:
    """A release notice to the stakeholders' list (OPS_INCIDENT_STAKEHOLDERS); '' when nobody is on it."""
    to = conf.stakeholders()
    if not to:
        return ""
    EmailMessage(subject, text, to=to).send(fail_silently=False)
    return ", ".join(to)


def post_release_webhook(payload: dict) -> str:
    """A release notice on the signed webhook (event "release"); raises as the incident webhook does."""
    return _post_signed({"event": "release", **payload}, "release")


def _post_signed(body: dict, event: str):
    url, secret = conf.webhook_url(), conf.webhook_secret()
    if not secret:
        raise PermissionError("OPS_INCIDENT_WEBHOOK_SECRET is not set: the webhook is never sent unsigned")
    if not url.startswith(("https://", "http://")):
        raise PermissionError("OPS_INCIDENT_WEBHOOK_URL must be an http(s) URL")
    payload = json.dumps(body, sort_keys=True).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=payload,
        method="POST",
        headers={"Content-Type": "application/json", "X-Ops-Event": event, SIGNATURE_HEADER: sign(secret, payload)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - an ops-configured URL
        return f"{url} answered {response.status}"
