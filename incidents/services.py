"""Incident rules that touch more than one row: opening from a rollback, transitions, timeline, notifications,
post-mortem invitations and reminders. Keyword-only; admin, tasks and tests share them."""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.status import allowed
from core.status import change_status as move
from core.tasks import enqueue
from incidents import conf, notify
from incidents.choices import OPEN, ActionStatus, Channel, IncidentStatus, RollbackCause, Source
from incidents.exceptions import IncidentRefused
from incidents.models import (
    ActionItem,
    Contact,
    Incident,
    NotificationAttempt,
    Severity,
    SeverityPolicy,
    TimelineEntry,
)

logger = logging.getLogger(__name__)
S = IncidentStatus

# How a deployment timeline row becomes an incident timeline row.
_ALERT_KINDS = {"alert", "trigger"}


def add_entry(*, incident, text, kind="note", source=Source.PERSON, user=None, at=None, corrects=None):
    if not str(text).strip():
        raise IncidentRefused("A timeline entry needs text.")
    return TimelineEntry.objects.create(
        incident=incident, at=at or timezone.now(), source=source, user=user, kind=kind, text=text, corrects=corrects
    )


def correct_entry(*, entry_id, text, user=None):
    """Timeline entries are never edited: a correction is a new entry pointing at the one it corrects."""
    entry = TimelineEntry.objects.get(pk=entry_id)
    return add_entry(incident=entry.incident, text=text, kind="correction", user=user, corrects=entry)


# --- Opening -----------------------------------------------------------------------------------------


def cause_of(deployment) -> str:
    if not deployment.rollback_automatic:
        return RollbackCause.MANUAL
    if deployment.rollback_trigger_id:
        return deployment.rollback_trigger.kind
    return RollbackCause.ENGINE  # reconcile: the engine went silent with traffic on an unverified slot


def severity_for(cause) -> Severity:
    policy = SeverityPolicy.objects.select_related("severity").filter(cause=cause).first()
    if policy:
        return policy.severity
    severity = Severity.objects.filter(key="high").first() or Severity.objects.first()
    if severity is None:
        raise IncidentRefused("No severities are defined: run `manage.py seed_strategy`.")
    return severity


def traffic_started_at(deployment):
    """When the release first took traffic: the moment customers could first be hit by it."""
    event = deployment.events.filter(new_status="shifting_traffic").order_by("at").first()
    return event.at if event else deployment.detected_at


def _source_of(event):
    if event.kind in _ALERT_KINDS:
        return Source.ALERT
    return Source.PERSON if event.actor == "person" else Source.ENGINE


def open_incident_on_rollback(sender, deployment_id, **kwargs):
    """deployments' rollback signal (sent once the engine's transaction committed): open it in its own task."""
    enqueue("incidents.open_incident_for_rollback", deployment_id)


def open_incident_for_rollback(*, deployment_id):
    """Open the incident of an executed rollback, once, through open_incident. Returns (incident, created)."""
    from deployments.public import Deployment

    existing = Incident.objects.filter(deployment_id=deployment_id).first()
    if existing:
        return existing, False
    deployment = Deployment.objects.select_related("release", "environment", "rollback_trigger").get(pk=deployment_id)
    if deployment.executed_at is None:
        raise IncidentRefused(f"Deployment #{deployment_id} has no executed rollback.")
    cause = cause_of(deployment)
    severity = severity_for(cause)
    decider = deployment.events.filter(new_status="rolling_back", user__isnull=False).select_related("user").first()
    verb = "Automatic" if deployment.rollback_automatic else "Manual"
    timeline = [
        {"at": event.at, "source": _source_of(event), "user": event.user, "kind": event.kind,
         "text": event.detail or event.kind}
        for event in deployment.events.select_related("user")
    ]  # fmt: skip
    try:
        incident = open_incident(
            title=f"{verb} rollback of {deployment.release} on {deployment.environment}",
            environment=deployment.environment,
            severity=severity,
            deployment=deployment,
            owner=decider.user if decider else None,
            source=Source.ENGINE,
            started_at=traffic_started_at(deployment),
            detected_at=deployment.detected_at,
            timeline=timeline,
            opened_text=f"Incident opened from the rollback of deployment #{deployment.pk}: "
            f"{deployment.rollback_reason or 'no reason given'}. Severity {severity} "
            f"({RollbackCause(cause).label}).",
            # Traffic is back on the previous release: mitigated, unless the standby also fails.
            status=S.MITIGATED if deployment.status == "rolled_back" else S.INVESTIGATING,
            cause=cause,
            decided_at=deployment.decided_at,
            executed_at=deployment.executed_at,
        )
    except IncidentRefused:
        # Another worker opened it first (the deployment is unique on incidents): that one stands.
        existing = Incident.objects.filter(deployment_id=deployment_id).first()
        if existing is None:
            raise
        return existing, False
    return incident, True


def opening_refusal(*, title, environment, deployment=None, started_at=None, detected_at=None, source=Source.PERSON):
    """Why an incident may not be opened with these values, or '' (the add form shows it; open_incident raises it)."""
    if not str(title).strip():
        return "An incident needs a title."
    if deployment is not None and Incident.objects.filter(deployment=deployment).exists():
        return f"Deployment #{deployment.pk} already has an incident."
    if deployment is not None and deployment.environment_id != environment.pk:
        return f"Deployment #{deployment.pk} ran on {deployment.environment}, not {environment}."
    # The engine's instants are facts (a heartbeat may precede the first traffic); a person's are checked.
    if source not in Source.values:
        return f"An incident is opened by one of {', '.join(Source.values)}, not {source!r}."
    if source == Source.PERSON and started_at and detected_at and detected_at < started_at:
        return "Detection cannot come before the impact began."
    return ""


TITLE_MAX = 80


def short_title(text) -> tuple[str, str]:
    """(title, details): a title an on-call list can show in one line (≤ TITLE_MAX characters, cut at a word),
    and the full text when it had to be cut ('' otherwise) for the incident's body."""
    text = " ".join(str(text).split())
    if len(text) <= TITLE_MAX:
        return text, ""
    cut = text[: TITLE_MAX - 1]
    if " " in cut[TITLE_MAX // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + "…", text


def open_incident(**kwargs):
    """Open an incident, or join the open one of the same cause (see open_or_join_incident). Returns it."""
    return open_or_join_incident(**kwargs)[0]


def open_or_join_incident(
    *,
    title,
    environment,
    severity,
    user=None,
    deployment=None,
    started_at=None,
    detected_at=None,
    owner=None,
    release=None,
    source=Source.PERSON,
    timeline=(),
    opened_text=None,
    cause_key="",
    **details,
):
    """The one way an incident is opened: by a person (admin), the engine after a rollback, or an alert.

    `source` says which (incidents.public.Source: person, engine, alert); the incident page shows it.
    `user` is who opened it (the owner unless `owner` is given); `timeline` entries (dicts of add_entry's
    arguments) come before the "opened" entry; `details` are further Incident fields (status, cause,
    decided_at, report fields...). The stakeholders are added and notified on commit.

    `cause_key` (e.g. "alert:BackupRpoBreach") names what opened it: while an incident of that cause is open
    on the environment, a repeat is added to its timeline instead of opening a second one. A title longer
    than TITLE_MAX is cut at a word; the full text goes into the "opened" entry. Returns (incident, created).
    """
    refusal = opening_refusal(title=title, environment=environment, deployment=deployment, started_at=started_at,
                              detected_at=detected_at, source=source)  # fmt: skip
    if refusal:
        raise IncidentRefused(refusal)
    cause_key = str(cause_key or "")[:120]
    title, full_text = short_title(title)
    text = opened_text or _OPENED_TEXT[source]
    if full_text:
        text = f"{text}. {full_text}"
    if cause_key:
        joined = _join_open(environment=environment, cause_key=cause_key, text=text, source=source, user=user)
        if joined is not None:
            return joined, False
    now = timezone.now()
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                title=title,
                environment=environment,
                severity=severity,
                owner=owner or user,
                deployment=deployment,
                release=release or (deployment.release if deployment else None),
                opened_by=source,
                started_at=started_at or detected_at or now,
                detected_at=detected_at or now,
                cause_key=cause_key,
                **details,
            )
            for entry in timeline:
                add_entry(incident=incident, **entry)
            add_entry(incident=incident, kind="opened", text=text, source=source, user=user)
            _add_default_stakeholders(incident)
            notify_all(incident, "opened")
    except IntegrityError:
        if cause_key:
            # Another worker opened this cause's incident meanwhile (the constraint): join it.
            joined = _join_open(environment=environment, cause_key=cause_key, text=text, source=source, user=user)
            if joined is not None:
                return joined, False
        if deployment is None:
            raise
        # Opened by another worker meanwhile: the deployment is unique on incidents.
        raise IncidentRefused(f"Deployment #{deployment.pk} already has an incident.") from None
    return incident, True


def _join_open(*, environment, cause_key, text, source, user):
    """The open incident of this cause on this environment, with the repeat in its timeline; None if there is none."""
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update()
            .filter(environment=environment, cause_key=cause_key, status__in=sorted(OPEN))
            .first()
        )
        if incident is None:
            return None
        add_entry(incident=incident, kind="repeat", text=f"Happened again: {text}", source=source, user=user)
    return incident


_OPENED_TEXT = {
    Source.PERSON: "Incident opened by hand",
    Source.ENGINE: "Incident opened by the deployment engine",
    Source.ALERT: "Incident opened by an alert",
}


def _add_default_stakeholders(incident):
    emails = set(conf.stakeholders())
    if incident.environment_id:
        emails.update(
            Contact.objects.filter(environment_id=incident.environment_id)
            .filter(Q(severity__isnull=True) | Q(severity_id=incident.severity_id))
            .values_list("email", flat=True)
        )
    for email in sorted(emails):
        incident.stakeholders.get_or_create(email=email)


# --- Contacts (who is told of an environment's incidents) --------------------------------------------------


def contacts(*, environment=None):
    rows = Contact.objects.select_related("environment", "severity")
    return rows.filter(environment__key=environment) if environment else rows


def add_contact(*, environment, email, severity=None, role=Contact.Role.STAKEHOLDER, user=None) -> Contact:
    """Add who is told of `environment`'s incidents (at `severity`, a key, or every severity). Bad input is
    refused with a message and nothing changes; the same address twice is refused too."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from environments.public import Environment

    env = Environment.objects.filter(key=str(environment or "")).first()
    if env is None:
        raise IncidentRefused(f"No environment {environment!r}.")
    level = None
    if severity not in (None, ""):
        level = Severity.objects.filter(key=str(severity)).first()
        if level is None:
            keys = ", ".join(Severity.objects.order_by("order").values_list("key", flat=True))
            raise IncidentRefused(f"No severity {severity!r}: use one of {keys}, or none for every severity.")
    if role not in Contact.Role.values:
        raise IncidentRefused(f"The role must be one of {', '.join(Contact.Role.values)}, not {role!r}.")
    email = str(email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise IncidentRefused(f"{email!r} is not an email address.") from None
    if Contact.objects.filter(environment=env, severity=level, email__iexact=email).exists():
        raise IncidentRefused(f"{email} is already told of {env}'s {level or 'incidents of every severity'}.")
    return Contact.objects.create(environment=env, severity=level, email=email, role=role)


def remove_contact(*, contact_id, user=None) -> Contact:
    contact = Contact.objects.select_related("environment", "severity").filter(pk=contact_id).first()
    if contact is None:
        raise IncidentRefused(f"No contact #{contact_id}.")
    contact.delete()
    return contact


# --- Status ------------------------------------------------------------------------------------------


def change_status(*, incident_id, status, user=None, note=""):
    """Move an incident along investigating → mitigated → resolved → post-mortem done. No-op if already there."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("severity").get(pk=incident_id)
        if status == S.POSTMORTEM_DONE and allowed(incident, status) and incident.postmortem_at is None:
            raise IncidentRefused("Schedule the post-mortem before marking it done.")
        change = move(incident, status, actor=Source.PERSON if user else Source.ENGINE, user=user, reason=note)
        if change.changed:
            notify_all(incident, "resolved" if status == S.RESOLVED else "status")
    return incident, change.changed


# --- Notifications -----------------------------------------------------------------------------------


def notify_all(incident, event, *, action_item_id=None):
    """Enqueue delivery on commit, one task per channel: a slow or failing channel never holds the incident."""
    channels = [Channel.EMAIL] + ([Channel.WEBHOOK] if conf.webhook_url() and event != "postmortem" else [])
    for channel in channels:
        enqueue("incidents.deliver_notification", incident.pk, event, channel, action_item_id=action_item_id)


def deliver(*, incident_id, event, channel, attempt=1, final=False, action_item_id=None):
    """One delivery try, logged as a NotificationAttempt. Raises on failure so the task can retry."""
    incident = Incident.objects.select_related("severity", "environment", "release", "owner").get(pk=incident_id)
    item = ActionItem.objects.filter(pk=action_item_id).first() if action_item_id else None
    row = NotificationAttempt(incident=incident, channel=channel, event=event, attempt=attempt)
    try:
        if channel == Channel.EMAIL:
            row.recipients = ", ".join(notify.recipients(incident, event, item))
            notify.send_email(incident, event, action_item=item, stamp=timezone.now())
            outcome = f"sent to {row.recipients}" if row.recipients else "no recipients"
        else:
            row.recipients = conf.webhook_url()
            outcome = notify.post_webhook(incident, event)
    except Exception as exc:
        row.error = f"{type(exc).__name__}: {exc}"[:1000]
        row.final = final
        row.save()
        logger.warning("incident #%s %s %s attempt %s failed: %s", incident_id, channel, event, attempt, row.error)
        raise
    row.ok = True
    row.final = True
    row.save()
    return outcome


# --- Post-mortem -------------------------------------------------------------------------------------


def schedule_postmortem(*, incident_id, user=None, now=None):
    """Email the attendees an .ics invitation for the post-mortem set on the incident."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.postmortem_at is None:
            raise IncidentRefused("Set the post-mortem date first.")
        if incident.postmortem_at <= now:
            raise IncidentRefused("The post-mortem date is in the past.")
        if not incident.attendee_emails():
            raise IncidentRefused("Add the post-mortem attendees first.")
        incident.full_clean(validate_unique=False, validate_constraints=False)
        incident.postmortem_invited_at = now
        incident.save(update_fields=["postmortem_invited_at"])
        add_entry(
            incident=incident,
            kind="postmortem",
            user=user,
            source=Source.PERSON if user else Source.ENGINE,
            text=f"Post-mortem scheduled for {incident.postmortem_at:%Y-%m-%d %H:%M} UTC; invitation sent to "
            f"{', '.join(incident.attendee_emails())}",
        )
        notify_all(incident, "postmortem")
    return incident


# --- Reminders ---------------------------------------------------------------------------------------


def _claim(queryset, **values):
    """Claim-by-UPDATE: only the caller that changed the row sends, so parallel beats never double-send."""
    return queryset.update(**values) == 1


def send_reminders(*, now=None) -> list[str]:
    now = now or timezone.now()
    sent = []
    report_due = now - timedelta(hours=conf.report_reminder_hours())
    for incident in Incident.objects.filter(
        status=S.RESOLVED, resolved_at__lte=report_due, report_reminded_at__isnull=True
    ):
        if incident.missing_report_fields() and _claim(
            Incident.objects.filter(pk=incident.pk, report_reminded_at__isnull=True), report_reminded_at=now
        ):
            with transaction.atomic():
                missing = ", ".join(incident.missing_report_fields())
                add_entry(incident=incident, source=Source.ENGINE, kind="reminder",
                          text=f"Reminder: the report is incomplete: {missing}")  # fmt: skip
                notify_all(incident, "reminder_report")
            sent.append(f"#{incident.pk} report")

    postmortem_due = now - timedelta(days=conf.postmortem_reminder_days())
    for incident in Incident.objects.filter(
        status__in=[S.MITIGATED, S.RESOLVED],
        opened_at__lte=postmortem_due,
        postmortem_at__isnull=True,
        postmortem_reminded_at__isnull=True,
    ):
        if _claim(Incident.objects.filter(pk=incident.pk, postmortem_reminded_at__isnull=True),
                  postmortem_reminded_at=now):  # fmt: skip
            with transaction.atomic():
                add_entry(incident=incident, source=Source.ENGINE, kind="reminder",
                          text="Reminder: no post-mortem scheduled yet")  # fmt: skip
                notify_all(incident, "reminder_postmortem")
            sent.append(f"#{incident.pk} post-mortem")

    today = timezone.localdate(now)
    for item in ActionItem.objects.filter(status=ActionStatus.OPEN, due_date__lt=today, reminded_at__isnull=True):
        if _claim(ActionItem.objects.filter(pk=item.pk, reminded_at__isnull=True), reminded_at=now):
            with transaction.atomic():
                add_entry(incident=item.incident, source=Source.ENGINE, kind="reminder",
                          text=f"Reminder: action item overdue: {item.title} ({item.owner})")  # fmt: skip
                notify_all(item.incident, "action_overdue", action_item_id=item.pk)
            sent.append(f"#{item.incident_id} action item {item.pk}")
    return sent


# --- Working the incident ----------------------------------------------------------------------------

# The instants the system records; a person corrects one only through correct_instant, with a reason.
RECORDED_INSTANTS = ("detected_at", "decided_at", "executed_at", "resolved_at")


def acknowledged_entry(incident):
    return incident.timeline.filter(kind="acknowledged").select_related("user").order_by("at", "pk").first()


def acknowledge(*, incident_id, user):
    """Someone has it: a timeline entry, and the owner if it had none. Again: nothing new. Returns (incident, new)."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if acknowledged_entry(incident):
            return incident, False
        if not incident.is_open:
            raise IncidentRefused(
                f"Incident #{incident.pk} is {incident.get_status_display().lower()}: nothing to acknowledge."
            )
        add_entry(incident=incident, kind="acknowledged", user=user, text=f"Acknowledged by {user.get_username()}")
        if incident.owner_id is None:
            incident.owner = user
            incident.save(update_fields=["owner"])
    return incident, True


def correct_instant(*, incident_id, field, value, reason, user):
    """Correct a recorded instant (they drive met and missed): audited, with the reason in the timeline."""
    from audit.public import record
    from core.formatting import instant

    if field not in RECORDED_INSTANTS:
        raise IncidentRefused(f"Only {', '.join(f.replace('_at', '') for f in RECORDED_INSTANTS)} can be corrected.")
    if not str(reason).strip():
        raise IncidentRefused("A correction needs a reason: it changes whether the targets were met.")
    if value is None:
        raise IncidentRefused("Give the corrected date and time.")
    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("severity").get(pk=incident_id)
        old = getattr(incident, field)
        if old == value:
            raise IncidentRefused("That is already the recorded time: nothing to correct.")
        setattr(incident, field, value)
        try:
            incident.clean()
        except Exception as exc:
            messages_ = getattr(exc, "messages", [str(exc)])
            raise IncidentRefused("; ".join(messages_)) from None
        incident.save(update_fields=[field])
        label = field.replace("_at", "").capitalize()
        add_entry(incident=incident, kind="correction", user=user,
                  text=f"{label} corrected from {instant(old)} to {instant(value)}: {reason.strip()}")  # fmt: skip
        record(incident, action=f"correct {field}", using="default",
               changes={field: [instant(old), instant(value)], "reason": str(reason).strip()[:500]})  # fmt: skip
    return incident
