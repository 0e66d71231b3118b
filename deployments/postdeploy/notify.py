"""§4 "Notify stakeholders": the release notice with its changelog, by email and the signed webhook (the incidents
app's channels), one row per channel, retried by its task, a failure kept and shown."""

from django.utils import timezone

from core.tasks import enqueue
from deployments import services as deployment_services
from deployments.models import Deployment
from deployments.postdeploy.checklist import NOTIFY, Verdict, judge_item
from deployments.postdeploy.models import ReleaseNotification
from incidents.public import post_release_webhook, send_release_email, webhook_url

NOTIFY_TASK = "postdeploy.notify_stakeholders"


def changelog_text(release) -> str:
    lines = [release.changelog.strip()] if release.changelog.strip() else []
    lines += [f"- {c.sha[:7]} {c.message}" for c in release.commits.all()]
    return "\n".join(lines) or "(no changelog)"


def notification_content(deployment):
    release = deployment.release
    subject = f"Released: {release.version} to {deployment.environment}"
    text = "\n".join(
        [
            f"{release.version} ({release.ref}) is live in {deployment.environment}.",
            *([f"\n{deployment.release_note.strip()}"] if deployment.release_note.strip() else []),
            "",
            "Changelog:",
            changelog_text(release),
        ]
    )
    payload = {
        "deployment": deployment.pk,
        "environment": deployment.environment.key,
        "release": {
            "version": release.version,
            "ref": release.ref,
            "commit": release.commit,
            "changelog": release.changelog,
            "commits": [{"sha": c.sha, "message": c.message} for c in release.commits.all()],
        },
        "release_note": deployment.release_note,
        "finished_at": deployment.finished_at.isoformat() if deployment.finished_at else None,
    }
    return subject, text, payload


def queue_notifications(deployment, *, retry_failed=False) -> str:
    """One notification per channel, sent once; `retry_failed` (by hand) sends the failed ones again."""
    channels = [ReleaseNotification.Channel.EMAIL] + ([ReleaseNotification.Channel.WEBHOOK] if webhook_url() else [])
    queued = []
    for channel in channels:
        row, created = ReleaseNotification.objects.get_or_create(deployment=deployment, channel=channel)
        again = retry_failed and row.state == ReleaseNotification.State.FAILED
        if again:
            ReleaseNotification.objects.filter(pk=row.pk).update(state=ReleaseNotification.State.PENDING)
        if created or again:
            enqueue(NOTIFY_TASK, deployment.pk, channel)
            queued.append(channel)
    judge_notifications(deployment)
    return f"notifications: queued {', '.join(queued)}" if queued else "notifications: already queued"


class NotificationFailed(Exception):
    def __init__(self, message, *, permanent=False):
        super().__init__(message)
        self.permanent = permanent


def deliver_notification(*, deployment_id, channel, final=False) -> str:
    """One try on one channel; raises NotificationFailed so the task retries. Sent is sent: never twice."""
    deployment = Deployment.objects.select_related("release", "environment").get(pk=deployment_id)
    row = ReleaseNotification.objects.get(deployment=deployment, channel=channel)
    if row.state == ReleaseNotification.State.SENT:
        return "already sent"
    subject, text, payload = notification_content(deployment)
    permanent = False
    try:
        if channel == ReleaseNotification.Channel.EMAIL:
            outcome = send_release_email(subject=subject, text=text)
            if not outcome:
                permanent = True
                raise RuntimeError("nobody is on the stakeholders' list (OPS_INCIDENT_STAKEHOLDERS)")
            outcome = f"sent to {outcome}"
        else:
            outcome = post_release_webhook(payload)
    except Exception as exc:  # any channel error is recorded and retried, never lost
        error = f"{type(exc).__name__}: {exc}"[:500]
        last = final or permanent
        ReleaseNotification.objects.filter(pk=row.pk).update(
            attempts=row.attempts + 1,
            last_error=error,
            state=ReleaseNotification.State.FAILED if last else ReleaseNotification.State.PENDING,
        )
        if last:
            deployment_services.record(
                deployment,
                kind="alert",
                detail=f"Release notification by {channel} failed after {row.attempts + 1} attempt(s): {error}",
            )
        judge_notifications(deployment)
        raise NotificationFailed(error, permanent=permanent) from exc
    ReleaseNotification.objects.filter(pk=row.pk).update(
        attempts=row.attempts + 1, state=ReleaseNotification.State.SENT, outcome=outcome[:300], sent_at=timezone.now()
    )
    deployment_services.record(deployment, kind="note", detail=f"Release notification by {channel}: {outcome}"[:500])
    judge_notifications(deployment)
    return outcome


def judge_notifications(deployment):
    rows = list(ReleaseNotification.objects.filter(deployment=deployment))
    if not rows:
        return judge_item(deployment, NOTIFY, Verdict(False, "No release notification yet."))
    failed = [r for r in rows if r.state == ReleaseNotification.State.FAILED]
    pending = [r for r in rows if r.state == ReleaseNotification.State.PENDING]
    if failed:
        detail = "; ".join(
            f"{r.get_channel_display()} failed after {r.attempts} attempt(s): {r.last_error}" for r in failed
        )
        return judge_item(deployment, NOTIFY, Verdict(False, detail + " (run the checks by hand to send again)"))
    if pending:
        detail = "; ".join(
            f"{r.get_channel_display()} pending" + (f" ({r.last_error})" if r.last_error else "") for r in pending
        )
        return judge_item(deployment, NOTIFY, Verdict(False, f"Sending: {detail}"))
    return judge_item(
        deployment, NOTIFY, Verdict(True, "; ".join(f"{r.get_channel_display()}: {r.outcome}" for r in rows))
    )
