"""The post-deployment items the console judges: ticked as the engine ticks its own, only on a pass, else why not."""

from dataclasses import dataclass

from django.db.models import Q

from deployments import services as deployment_services
from deployments.choices import Actor
from deployments.models import ChecklistItem, DeploymentChecklistItem

JOURNEYS, PERFORMANCE, STATUS_PAGE, NOTIFY, ERROR_LOGS = (
    "verify_user_journeys",
    "check_performance",
    "update_status_page",
    "notify_stakeholders",
    "review_error_logs",
)
AUTOMATED = (JOURNEYS, PERFORMANCE, STATUS_PAGE, NOTIFY)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    detail: str


def judge_item(deployment, key, verdict: Verdict) -> bool:
    """Tick `key` when its check passed, as the engine ticks its items; otherwise keep why not. True if ticked now."""
    ticked = deployment_services.tick_engine_item(deployment, key) if verdict.passed else 0
    # A person's tick keeps its own account; the console's note follows its latest check.
    DeploymentChecklistItem.objects.filter(deployment=deployment, item__key=key).filter(
        Q(checked_at__isnull=True) | Q(source=Actor.ENGINE)
    ).update(note=verdict.detail[:500])
    if ticked:
        deployment_services.record(
            deployment, kind="checklist", detail=f"Checked by the console: {_text(key)} — {verdict.detail[:300]}"
        )
    return bool(ticked)


def _text(key):
    return ChecklistItem.objects.filter(key=key).values_list("text", flat=True).first() or key
