"""Evaluate the production checklist item "Required variables and secrets present" when a deployment is created:
every §7 variable of the environment resolves to a secret that exists in the manager (no value is read)."""

from deployments.public import register_checklist_evaluator
from secrets_registry.public import required_secrets_present

ITEM_KEY = "secrets_present"


def secrets_present(deployment) -> bool:
    environment = deployment.environment
    if not environment.is_production:
        return False  # §7's references are seeded for production; elsewhere a person ticks it
    present, _detail = required_secrets_present(environment)
    return present


def register():
    register_checklist_evaluator(ITEM_KEY, secrets_present)
