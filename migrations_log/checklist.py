"""Evaluate the checklist item "Database migrations tested" when a deployment is created."""

from deployments.public import register_checklist_evaluator

ITEM_KEY = "migrations_tested"


def migrations_are_tested(deployment) -> bool:
    from migrations_log.services import migrations_tested, release_migrations

    if not release_migrations(deployment.release).exists():
        return False  # no migrations registered for this release: the console cannot vouch for them
    return migrations_tested(release=deployment.release, environment=deployment.environment)


def register():
    register_checklist_evaluator(ITEM_KEY, migrations_are_tested)
