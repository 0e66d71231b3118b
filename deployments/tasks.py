from datetime import datetime

from celery import shared_task

from core.task_base import OpsTask
from deployments import engine
from deployments.engine.reconcile import reconcile
from deployments.engine.switchback import carry_out
from deployments.postdeploy import tasks as postdeploy_tasks  # noqa: F401 - registers postdeploy.* (default queue)


@shared_task(base=OpsTask, name="deployments.advance_deployment")
def advance_deployment(deployment_id: int, run_token: str) -> str:
    """One tick of a deployment's state machine; stale tokens exit, so retries and duplicates are harmless."""
    return engine.advance(deployment_id, run_token)


@shared_task(base=OpsTask, name="deployments.reconcile_deployments")
def reconcile_deployments() -> str:
    outcomes = reconcile()
    return "; ".join(outcomes) or "nothing stale"


@shared_task(base=OpsTask, name="deployments.switch_back")
def switch_back(deployment_id: int, requested_at: str, user_id: int | None, reason: str, actor: str) -> str:
    """A person's switch back (services.switch_back queued it); a second run finds it done and exits."""
    return carry_out(
        deployment_id,
        requested_at=datetime.fromisoformat(requested_at),
        user_id=user_id,
        reason=reason,
        actor=actor,
    )
