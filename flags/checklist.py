"""Evaluate the deployment checklist item "Feature flags configured" when a deployment is created."""

from deployments.public import register_checklist_evaluator

ITEM_KEY = "flags_configured"


def unplanned_drift() -> list[str]:
    """Flags whose staging and production values differ where the strategy's table does not plan it."""
    from flags import strategy
    from flags.services import drift_report

    return [
        f"{key}: staging {'on' if staging else 'off'}, production {'on' if production else 'off'}"
        for key, staging, production in drift_report().staging_vs_production
        if (staging, production) != (strategy.planned_value(key, "staging"), strategy.planned_value(key, "production"))
    ]


def flags_configured(deployment) -> bool:
    return not unplanned_drift()


def register():
    register_checklist_evaluator(ITEM_KEY, flags_configured)
