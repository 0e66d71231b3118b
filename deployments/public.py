"""The deployments app's front door: what other apps may use. Nothing else is imported across apps.

create_release, the release notes and ExecutionResult load on first use (module __getattr__), not when another
app's admin imports this module at start-up (tests/test_startup.py).
"""

from typing import TYPE_CHECKING

from deployments.choices import ACTIVE, Actor, DeploymentStatus, RefKind
from deployments.exceptions import DeploymentRefused
from deployments.models import Deployment, Release, ReleaseCommit
from deployments.signals import deployment_rolled_back
from deployments.steps import (
    PreTrafficStep,
    register_checklist_evaluator,
    register_pre_traffic_step,
    register_start_guard,
)

if TYPE_CHECKING:
    from deployments.drivers.executors import ExecutionResult
    from deployments.postdeploy.notes import PublishedNote, published_release_notes
    from deployments.services import create_release


def __getattr__(name):
    if name == "create_release":
        from deployments.services import create_release

        return create_release
    if name in {"PublishedNote", "published_release_notes"}:
        from deployments.postdeploy import notes

        return getattr(notes, name)
    if name == "ExecutionResult":
        from deployments.drivers.executors import ExecutionResult

        return ExecutionResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def waiting_for_a_person(environment_ids=None) -> list[tuple]:
    """The in-flight deployments that wait for a person, with what they wait for, oldest first:
    (deployment, "Confirm weights blue 90% / green 10%" | "Approval" | "Checklist" | "Decision: <why paused>")."""
    from deployments.choices import DeploymentStatus as S

    rows = Deployment.objects.filter(status__in=[S.AWAITING_APPROVAL, S.AWAITING_CHECKLIST, S.PAUSED])
    rows = rows | Deployment.objects.filter(status__in=sorted(ACTIVE)).exclude(awaiting_weights="")
    if environment_ids is not None:
        rows = rows.filter(environment_id__in=list(environment_ids))
    waiting = []
    for deployment in rows.select_related("release", "environment").order_by("created_at"):
        if deployment.status == S.AWAITING_APPROVAL:
            what = "Approval (four-eyes)"
        elif deployment.status == S.AWAITING_CHECKLIST:
            what = "Checklist"
        elif deployment.status == S.PAUSED:
            what = f"Decision: {deployment.pause_reason or 'paused'}"
        else:
            what = f"Confirm weights {deployment.awaiting_weights}"
        waiting.append((deployment, what))
    return waiting


__all__ = [
    "Actor",
    "Deployment",
    "DeploymentRefused",
    "DeploymentStatus",
    "ExecutionResult",
    "PreTrafficStep",
    "PublishedNote",
    "RefKind",
    "Release",
    "ReleaseCommit",
    "create_release",
    "deployment_rolled_back",
    "published_release_notes",
    "register_checklist_evaluator",
    "register_pre_traffic_step",
    "register_start_guard",
    "waiting_for_a_person",
]
