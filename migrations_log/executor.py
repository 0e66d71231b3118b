"""Apply pending migrations to an environment's database, through its driver (migrations_log/drivers/):
each in its own transaction, under the environment's lock_timeout and statement_timeout, timed, with its
output recorded. Every run's status change writes its event row (core.status)."""

import os

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.status import change_status, record_creation
from deployments.public import Deployment, DeploymentStatus, ExecutionResult
from migrations_log.choices import RunActor, RunStatus
from migrations_log.drivers import TargetError, TargetUnavailable, driver_for
from migrations_log.models import Migration, MigrationRun, MigrationTarget
from migrations_log.services import pending, release_migrations
from refreshes.public import last_refreshed

EXECUTOR = "executor"


def database_url(target: MigrationTarget) -> str:
    url = os.environ.get(target.database_url_variable, "")
    if not url:
        raise TargetUnavailable(
            f"{target.database_url_variable} is not set in the worker's environment: it holds {target.environment}'s "
            "database URL."
        )
    problem = target.variable_problem()  # last line of defence: a row edited past the form
    if problem:
        raise TargetUnavailable(f"{problem}.")
    return url


def _fail_interrupted(migration, environment):
    # We hold the target's lock, so a run still marked running was cut short by a crash.
    for run in MigrationRun.objects.filter(migration=migration, environment=environment, status=RunStatus.RUNNING):
        change_status(run, RunStatus.FAILED, actor=EXECUTOR, reason="interrupted",
                      fields={"output": "Interrupted (the worker stopped before recording the end)."})  # fmt: skip


def _create(run_kwargs, *, reason, **fields):
    with transaction.atomic():
        run = MigrationRun.objects.create(**run_kwargs, **fields)
        record_creation(run, actor=run.actor_label, user=run_kwargs["user"], reason=reason)
    return run


def apply_pending(*, release, environment, deployment=None, user=None) -> ExecutionResult:
    try:
        target = environment.migration_target
    except MigrationTarget.DoesNotExist:
        return ExecutionResult(False, f"{environment} has no migration target (database URL variable).")
    waiting = pending(release=release, environment=environment)
    if not waiting:
        return ExecutionResult(True, f"No pending migrations for {release} on {environment}.")
    try:
        driver = driver_for(database_url(target), lock_timeout_ms=target.lock_timeout_ms,
                            statement_timeout_ms=target.statement_timeout_ms)  # fmt: skip
        driver.connect()
    except (TargetUnavailable, TargetError) as exc:
        return ExecutionResult(False, f"Cannot reach {environment}'s database: {str(exc).strip()[:500]}")
    summary = []
    # §6 "tested on staging with production-like data": how old the target's data is, kept on each run.
    refreshed_at = last_refreshed(environment)
    with driver:
        driver.lock()
        in_ledger = driver.ledger()
        for migration in pending(release=release, environment=environment):
            _fail_interrupted(migration, environment)
            run_kwargs = {
                "migration": migration,
                "environment": environment,
                "actor": RunActor.DEPLOYMENT if deployment else RunActor.PERSON,
                "deployment": deployment,
                "user": user,
                "data_refreshed_at": refreshed_at,
            }
            if migration.identifier in in_ledger:
                _create(
                    run_kwargs,
                    reason="already in the database's ledger",
                    status=RunStatus.APPLIED,
                    started_at=timezone.now(),
                    duration_seconds=0,
                    output="Already in the database's ledger (applied before the console recorded it).",
                )
                summary.append(f"{migration}: already applied")
                continue
            try:
                run = _create(run_kwargs, reason="started", status=RunStatus.RUNNING, started_at=timezone.now())
            except IntegrityError:
                summary.append(f"{migration}: another run is in progress")
                return ExecutionResult(False, "\n".join(summary))
            ok, output, seconds = driver.apply(migration)
            change_status(
                run,
                RunStatus.APPLIED if ok else RunStatus.FAILED,
                actor=run.actor_label,
                user=user,
                reason=f"{seconds:.3f}s" if ok else (output.strip().splitlines() or ["failed"])[-1][:500],
                fields={"duration_seconds": seconds, "output": output[-20000:]},
            )
            summary.append(f"{migration}: {run.status} in {seconds:.3f}s" + ("" if ok else f"\n{output[-2000:]}"))
            if not ok:
                summary.append("Stopped: the migrations after it were not run.")
                return ExecutionResult(False, "\n".join(summary))
        driver.unlock()
    return ExecutionResult(True, "\n".join(summary))


# --- Rebuilding an environment's schema from the log (the dev reset) -----------------------------------------------


def live_migrations(environment):
    """(what they are, migrations in order): those of the release live on `environment` (its last succeeded
    deployment); with no deployment recorded, those the log records as applied there."""
    deployment = (
        Deployment.objects.filter(environment=environment, status=DeploymentStatus.SUCCEEDED)
        .order_by("-finished_at", "-pk")
        .select_related("release")
        .first()
    )
    if deployment is not None:
        return f"release {deployment.release} (live on {environment})", list(release_migrations(deployment.release))
    applied = MigrationRun.objects.filter(environment=environment, status=RunStatus.APPLIED).values("migration")
    migrations = list(Migration.objects.filter(pk__in=applied).order_by("sequence", "identifier"))
    return f"the migrations applied on {environment}", migrations


def replay_live_migrations(*, environment, url) -> ExecutionResult:
    """Apply, in order, every migration live on `environment` to the (new, empty) database at `url`, through the
    driver, each recorded in that database's ledger as on any target. The console's run records are left as they
    are: they already say these migrations are applied on `environment`, which the rebuilt database then matches."""
    what, migrations = live_migrations(environment)
    if not migrations:
        return ExecutionResult(
            False,
            f"No release is live on {environment} and the migrations log records no migration applied there: "
            "there is no schema to build.",
        )
    target = MigrationTarget.objects.filter(environment=environment).first()
    field = MigrationTarget._meta.get_field
    try:
        driver = driver_for(
            url,
            lock_timeout_ms=target.lock_timeout_ms if target else field("lock_timeout_ms").default,
            statement_timeout_ms=target.statement_timeout_ms if target else field("statement_timeout_ms").default,
        )
        driver.connect()
    except (TargetUnavailable, TargetError) as exc:
        return ExecutionResult(False, f"Cannot reach the database to rebuild: {str(exc).strip()[:500]}")
    summary = [f"{len(migrations)} migration(s) of {what}:"]
    with driver:
        driver.lock()
        in_ledger = driver.ledger()
        for migration in migrations:
            if migration.identifier in in_ledger:
                summary.append(f"{migration}: already in the ledger")
                continue
            ok, output, seconds = driver.apply(migration)
            summary.append(f"{migration}: {'applied' if ok else 'failed'} in {seconds:.3f}s")
            if not ok:
                summary.append(output[-2000:])
                return ExecutionResult(False, "\n".join(summary))
        driver.unlock()
    return ExecutionResult(True, "\n".join(summary))
