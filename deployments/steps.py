"""Extension point: steps other apps run on the idle slot after deploy and before any traffic.

The migrations log registers its "apply migrations" step here: migrations are backward compatible
with the live release, so they run before the first traffic moves, and a failure stops the
deployment with all traffic still on the live slot.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PreTrafficStep:
    name: str
    applies: Callable  # (policy) -> bool
    run: Callable  # (deployment) -> deployments.drivers.executors.ExecutionResult; must be idempotent


_registry: dict[str, PreTrafficStep] = {}


def register_pre_traffic_step(step: PreTrafficStep):
    _registry[step.name] = step


def pre_traffic_steps(policy) -> list[PreTrafficStep]:
    return [step for step in _registry.values() if step.applies(policy)]


# Start guards: other apps refuse a deployment for their own reasons (unverified migrations, say).
_guards: dict[str, Callable] = {}


def register_start_guard(name: str, guard: Callable):
    """`guard(release=, environment=)` returns '' to allow the deployment, or the refusal to show."""
    _guards[name] = guard


def start_refusals(*, release, environment) -> list[str]:
    return [reason for guard in _guards.values() if (reason := guard(release=release, environment=environment))]


# Checklist evaluators: an item the console can judge itself ("Database migrations tested", say).
_evaluators: dict[str, Callable] = {}


def register_checklist_evaluator(item_key: str, evaluator: Callable):
    """`evaluator(deployment)` returns True when the item holds; it is then checked by the engine at creation."""
    _evaluators[item_key] = evaluator


def checklist_evaluators() -> dict[str, Callable]:
    return dict(_evaluators)
