"""One round of the post-deployment checklist, and the people's actions on it (keep the release, the log link).

Each automated item (journeys, performance, status page, stakeholders) is ticked the way the engine ticks its
own items (services.tick_engine_item) and only when its check passed; otherwise the item's note says why not.
A round makes HTTP calls, so it never holds the deployment's row lock while it waits on the network.
"""

import logging
from datetime import timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.tasks import enqueue
from deployments import progress
from deployments import services as deployment_services
from deployments.choices import Actor, DeploymentStatus
from deployments.exceptions import DeploymentRefused, DriverError, NotAllowed
from deployments.models import Deployment, DeploymentChecklistItem
from deployments.postdeploy import journeys as runner
from deployments.postdeploy import performance
from deployments.postdeploy.checklist import (
    ERROR_LOGS,
    JOURNEYS,
    PERFORMANCE,
    STATUS_PAGE,
    Verdict,
    judge_item,
)
from deployments.postdeploy.models import JourneyRun, PerformanceReading
from deployments.postdeploy.notify import (
    queue_notifications,
)
from monitoring.public import AlertSeverity, raise_alert, resolve_alert

logger = logging.getLogger("amarise_ops.deployments")
S = DeploymentStatus

JOURNEY_ALERT = "DeploymentJourneyFailed"
RUN_TASK = "postdeploy.run_checks"
# After the bake period (or the success, without one) rounds go on this long: the last one judges performance.
GRACE = timedelta(minutes=10)
ROUND_SPACING_SECONDS = 60


def due_deployment_ids(now=None):
    """Succeeded deployments in their bake period, or just past it (or just succeeded, without one)."""
    now = now or timezone.now()
    return list(
        Deployment.objects.filter(status=S.SUCCEEDED)
        .filter(Q(watching_until__gt=now - GRACE) | Q(watching_until__isnull=True, finished_at__gt=now - GRACE))
        .values_list("pk", flat=True)
    )


def enqueue_round(deployment_id, *, force=False):
    enqueue(RUN_TASK, deployment_id, **({"force": True} if force else {}))


def _claim_round(deployment) -> bool:
    """One round a minute per deployment, whoever asks (the success hook, beat): an atomic add in the cache."""
    stamp = deployment.finished_at.timestamp() if deployment.finished_at else 0
    try:
        return cache.add(f"postdeploy:round:{deployment.pk}:{stamp:.6f}", 1, timeout=ROUND_SPACING_SECONDS)
    except Exception:  # a cache outage costs a duplicate round at worst, never a missed one
        logger.warning("post-deployment round claim: cache unavailable", exc_info=True)
        return True


def run_round(deployment_id, *, force=False) -> str:
    """Journeys, performance, status page and stakeholders for one succeeded deployment. Idempotent; a second
    round within a minute is skipped unless `force` (a person asked: the admin action, the command)."""
    deployment = (
        Deployment.objects.select_related("release", "environment__deployment_policy", "from_slot", "to_slot")
        .filter(pk=deployment_id)
        .first()
    )
    if deployment is None:
        return "gone"
    if deployment.status != S.SUCCEEDED:
        return f"nothing to do: {deployment.status}"
    if not _claim_round(deployment) and not force:
        return "a round ran less than a minute ago"
    outcomes = [
        publish_release_note(deployment),
        queue_notifications(deployment),
        run_journeys(deployment),
        check_performance(deployment),
    ]
    return "; ".join(outcomes)


# --- Status page --------------------------------------------------------------------------------


def publish_release_note(deployment) -> str:
    with transaction.atomic():
        locked = Deployment.objects.select_for_update(of=("self",)).get(pk=deployment.pk)
        if locked.status != S.SUCCEEDED:
            return "release note: not published, the deployment has not succeeded"
        if not locked.release_note.strip():
            judge_item(
                locked,
                STATUS_PAGE,
                Verdict(
                    False,
                    "No public release note was written at start: nothing "
                    "was published. Tick it by hand if the status page was updated another way.",
                ),
            )
            return "release note: none"
        if locked.release_note_published_at is None:
            locked.release_note_published_at = timezone.now()
            locked.save(update_fields=["release_note_published_at"])
            deployment_services.record(locked, kind="note", detail="Release note published on the status page")
        at = locked.release_note_published_at
        judge_item(locked, STATUS_PAGE, Verdict(True, f"Release note published on /status/ at {at:%H:%M} UTC."))
    deployment.release_note_published_at = at
    return "release note: published"


# --- Journeys -----------------------------------------------------------------------------------


def live_url(deployment):
    return deployment.to_slot.base_url if deployment.to_slot_id else deployment.environment.url.rstrip("/")


def _alert_labels(deployment, journey_name):
    return {"deployment": str(deployment.pk), "journey": journey_name}


def _severity(deployment):
    # In production a failing journey asks for a decision: critical, so an incident opens and on-call is paged.
    return AlertSeverity.CRITICAL if deployment.environment.is_production else AlertSeverity.WARNING


def _alert(deployment, run):
    summary = (
        f"Deployment #{deployment.pk} ({deployment.release} to {deployment.environment}): journey "
        f"“{run.journey_name}” failed at step “{run.failing_step}”."
    )
    if deployment.environment.is_production:
        summary += " Decide: switch back, or keep the release."
    try:
        with transaction.atomic():
            raise_alert(
                environment=deployment.environment,
                name=JOURNEY_ALERT,
                severity=_severity(deployment),
                summary=summary[:500],
                source="deployments",
                labels=_alert_labels(deployment, run.journey_name),
            )
    except Exception:  # the run row and the timeline still say it; the next round raises again
        logger.exception("could not raise %s for deployment #%s", JOURNEY_ALERT, deployment.pk)


def _resolve(deployment, journey_name):
    try:
        with transaction.atomic():
            resolve_alert(
                environment=deployment.environment, name=JOURNEY_ALERT, labels=_alert_labels(deployment, journey_name)
            )
    except Exception:
        logger.exception("could not resolve %s for deployment #%s", JOURNEY_ALERT, deployment.pk)


def run_journeys(deployment) -> str:
    policy = deployment.environment.deployment_policy
    journeys = list(policy.journeys.filter(enabled=True).prefetch_related("steps"))
    if not journeys:
        judge_item(
            deployment,
            JOURNEYS,
            Verdict(False, f"No synthetic journey is enabled for {deployment.environment}: nothing was verified."),
        )
        return "journeys: none enabled"
    base = live_url(deployment)
    if not base.startswith(("http://", "https://")):
        judge_item(deployment, JOURNEYS, Verdict(False, f"The live slot of {deployment.environment} has no address."))
        return "journeys: no address"
    failed = []
    for journey in journeys:
        previous = deployment.journey_runs.filter(journey=journey).first()
        started = timezone.now()
        result = runner.run(base, runner.steps_of(journey))
        run = JourneyRun.objects.create(
            deployment=deployment,
            journey=journey,
            journey_name=journey.name,
            started_at=started,
            finished_at=timezone.now(),
            passed=result.passed,
            failing_step=result.failing_step,
            detail=result.detail[:1000],
        )
        if not result.passed:
            failed.append(run)
            if previous is None or previous.passed:  # the timeline says it once, the alert stays firing
                deployment_services.record(
                    deployment,
                    kind="alert",
                    detail=f"Journey “{run.journey_name}” failed at step “{run.failing_step}” on {base}",
                )
            _alert(deployment, run)
        elif previous is not None and not previous.passed:
            deployment_services.record(deployment, kind="note", detail=f"Journey “{run.journey_name}” passes again")
            _resolve(deployment, journey.name)
    if failed:
        detail = "; ".join(f"“{r.journey_name}” failed at step “{r.failing_step}”" for r in failed)
        judge_item(deployment, JOURNEYS, Verdict(False, f"{detail} (on {base})."))
        return f"journeys: {len(failed)} of {len(journeys)} failed"
    judge_item(deployment, JOURNEYS, Verdict(True, f"{len(journeys)} journey(s) passed on {base}."))
    return f"journeys: {len(journeys)} passed"


RESOLVE_TASK = "postdeploy.resolve_journey_alerts"


def on_rolled_back(sender, deployment_id, **kwargs):
    """deployment_rolled_back (a rollback or a switch back): its journey alerts have nothing left to decide."""
    enqueue(RESOLVE_TASK, deployment_id)


def resolve_journey_alerts(deployment_id) -> str:
    deployment = Deployment.objects.select_related("environment").filter(pk=deployment_id).first()
    if deployment is None:
        return "gone"
    names = sorted(set(deployment.journey_runs.filter(passed=False).values_list("journey_name", flat=True)))
    for name in names:
        _resolve(deployment, name)
    return f"resolved journey alerts: {', '.join(names)}" if names else "no journey alert"


def latest_runs(deployment):
    """The most recent run of each journey of this deployment."""
    seen, latest = set(), []
    for run in deployment.journey_runs.select_related("kept_by"):
        if run.journey_name not in seen:
            seen.add(run.journey_name)
            latest.append(run)
    return sorted(latest, key=lambda r: r.journey_name)


def awaiting_decision(deployment):
    """Production's failed journeys nobody has decided on yet, while the release is still live."""
    if deployment.status != S.SUCCEEDED or not deployment.environment.is_production:
        return []
    return [r for r in latest_runs(deployment) if not r.passed and r.kept_at is None]


def keep_release(*, deployment_id, user, reason):
    """A person decides to keep the release despite failing journeys: who, when and why are kept."""
    reason = (reason or "").strip()
    if not reason:
        raise DeploymentRefused("Give a reason to keep the release: it is recorded with the decision.")
    with transaction.atomic():
        deployment = (
            Deployment.objects.select_for_update(of=("self",)).select_related("environment").get(pk=deployment_id)
        )
        deployment_services.check_may_operate(user, deployment.environment)
        if user is None:
            raise NotAllowed("Keeping a release is a person's decision.")
        if deployment.status != S.SUCCEEDED:
            raise DeploymentRefused(
                f"Deployment #{deployment.pk} is {deployment.get_status_display().lower()}: "
                "there is no live release to keep."
            )
        pending = awaiting_decision(deployment)
        if not pending:
            raise DeploymentRefused(f"No failed journey awaits a decision on deployment #{deployment.pk}.")
        now = timezone.now()
        JourneyRun.objects.filter(pk__in=[r.pk for r in pending]).update(
            kept_by=user, kept_at=now, keep_reason=reason[:300]
        )
        names = ", ".join(f"“{r.journey_name}”" for r in pending)
        deployment_services.record(
            deployment,
            kind="decision",
            actor=Actor.PERSON,
            user=user,
            detail=f"Release kept despite failing journey(s) {names}: {reason[:300]}",
        )
    return pending


# --- Performance --------------------------------------------------------------------------------


def _sample_now(deployment, policy):
    """Without Prometheus, a fresh look at the load balancer's counters, so the bake period has figures."""
    from deployments.drivers import balancer_for
    from deployments.engine.traffic import sample

    try:
        balancer = balancer_for(policy)
        if balancer.reports_stats and deployment.to_slot_id:
            sample(deployment, balancer)
    except DriverError as exc:
        logger.warning("deployment #%s: no load-balancer sample: %s", deployment.pk, exc)


def check_performance(deployment, now=None) -> str:
    policy = deployment.environment.deployment_policy
    now = now or timezone.now()
    error_threshold, p95_threshold = progress.thresholds(deployment)
    if not policy.prometheus_url:
        _sample_now(deployment, policy)
    try:
        comparison = performance.compare(deployment, policy, now)
    except DriverError as exc:
        verdict = Verdict(False, f"Could not read the metrics: {exc}"[:500])
        empty = performance.Figures(None, None, None)
        comparison = performance.Comparison("Prometheus" if policy.prometheus_url else "HAProxy", empty, empty)
    else:
        minimum = 0 if policy.prometheus_url else policy.min_requests
        verdict = Verdict(
            *performance.judge(
                comparison.new, error_threshold=error_threshold, p95_threshold=p95_threshold, min_requests=minimum
            )
        )
    PerformanceReading.objects.create(
        deployment=deployment,
        taken_at=now,
        source=comparison.source[:100],
        new_error_rate=comparison.new.error_rate,
        new_p95=comparison.new.p95,
        new_requests=comparison.new.requests,
        previous_error_rate=comparison.previous.error_rate,
        previous_p95=comparison.previous.p95,
        previous_requests=comparison.previous.requests,
        error_threshold=error_threshold,
        p95_threshold=p95_threshold,
        passed=verdict.passed,
        detail=verdict.detail[:500],
    )
    if verdict.passed and deployment.is_watching:
        # Within the thresholds so far; the verdict is the bake period's, so the tick waits for its end.
        verdict = Verdict(
            False, f"{verdict.detail} So far: ticks when the bake period ends ({deployment.watching_until:%H:%M} UTC)."
        )
    judge_item(deployment, PERFORMANCE, verdict)
    return f"performance: {'passed' if verdict.passed else 'not ticked'}"


def latest_reading(deployment):
    return deployment.performance.first()


# --- Review error logs: a person's tick, with where they looked -----------------------------------


def review_error_logs(*, deployment_id, user, link=""):
    """A person ticks "Review error logs", saying where they looked (a URL, optional)."""
    link = (link or "").strip()
    if link:
        try:
            URLValidator(schemes=["http", "https"])(link)
        except ValidationError:
            raise DeploymentRefused(
                f"“{link[:100]}” is not an http(s) URL: give the address where you looked."
            ) from None
        if len(link) > 500:
            raise DeploymentRefused("The link is longer than 500 characters.")
    with transaction.atomic():
        entry = deployment_services.check_item(deployment_id=deployment_id, item_key=ERROR_LOGS, user=user)
        if link:
            DeploymentChecklistItem.objects.filter(pk=entry.pk).update(link=link)
    return entry
