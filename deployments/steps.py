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
