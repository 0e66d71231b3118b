"""The migrations log's part in a deployment: apply pending migrations before any traffic moves,
and refuse to start while its rules do not hold."""

from deployments.public import PreTrafficStep, register_pre_traffic_step, register_start_guard


def _applies(policy):
    from migrations_log.models import MigrationTarget

    return MigrationTarget.objects.filter(environment_id=policy.environment_id, enabled=True).exists()


def _run(deployment):
    from migrations_log.executor import apply_pending

    return apply_pending(release=deployment.release, environment=deployment.environment, deployment=deployment)


def _guard(*, release, environment):
    from migrations_log.services import start_guard

    return start_guard(release=release, environment=environment)


def register():
    register_pre_traffic_step(PreTrafficStep(name="apply_migrations", applies=_applies, run=_run))
    register_start_guard("migrations_log", _guard)
