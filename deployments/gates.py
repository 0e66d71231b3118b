"""Gates that fail closed: what a deployment must show before it starts, and the checklist items the console judges.

Registered in apps.ready through the same extension points other apps use (start guards, checklist evaluators).
"""

from deployments.steps import register_checklist_evaluator, register_start_guard

CHANGELOG_ITEM = "changelog_updated"


def smoke_check_refusal(*, release, environment) -> str:
    """Production never goes live on an unchecked slot: its policy must have at least one smoke check."""
    policy = getattr(environment, "deployment_policy", None)
    if policy is None or not environment.is_production or policy.smoke_checks.exists():
        return ""
    return (
        f"{environment}'s deployment policy has no smoke check, so the idle slot would take traffic unchecked: "
        "add one (GET / → 200, and the health path → 200) before deploying."
    )


def changelog_updated(deployment) -> bool:
    """ "Changelog updated" holds when the release carries a changelog."""
    return bool(deployment.release.changelog.strip())


def register():
    register_start_guard("smoke_checks", smoke_check_refusal)
    register_checklist_evaluator(CHANGELOG_ITEM, changelog_updated)
