"""The deployments app's front door: what other apps may use. Nothing else is imported across apps."""

from deployments.choices import Actor, DeploymentStatus, RefKind
from deployments.drivers.executors import ExecutionResult
from deployments.exceptions import DeploymentRefused
from deployments.models import Deployment, Release, ReleaseCommit
from deployments.postdeploy.notes import PublishedNote, published_release_notes
from deployments.services import create_release
from deployments.signals import deployment_rolled_back
from deployments.steps import (
    PreTrafficStep,
    register_checklist_evaluator,
    register_pre_traffic_step,
    register_start_guard,
)

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
]
