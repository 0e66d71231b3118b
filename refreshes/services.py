"""Environment data: the staging refresh and the dev reset, as runs of idempotent, resumable steps.

Every step can run again after a crash: it first looks at what is already there (a database, a marker
written in the same transaction as the work, a comment on the swapped database) and skips what is done.
"""

import logging
import os
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from core.status import change_status, record_creation
from core.tasks import signature
from environments.public import EmailMode, Environment, EnvironmentKey
from migrations_log.public import replay_live_migrations
from refreshes import conf, devseed, masking, pg, verify
from refreshes.choices import ADD_RULE_PERMISSION, CHANGE_RULE_PERMISSION, STEPS, RunKind, RunStatus, StepStatus
from refreshes.drivers import get_source
from refreshes.exceptions import FailClosed, NotAllowed, RefreshError
from refreshes.models import DataTarget, MaskingRule, RefreshRun, RefreshStep
from refreshes.sample import generate
from refreshes.schema import WORK_SCHEMA, SchemaCheck, check_rules, count_rows, has_work_schema, read_columns

logger = logging.getLogger("amarise_ops.refreshes")

STEP_TASK = "refreshes.run_refresh_step"
_TARGET_OF = {RunKind.STAGING_REFRESH: EnvironmentKey.STAGING, RunKind.DEV_RESET: EnvironmentKey.DEV}


# --- Connections and guards -------------------------------------------------------------------


def target_for(key: str) -> DataTarget:
    target = DataTarget.objects.select_related("environment").filter(environment__key=key).first()
    if target is None:
        raise RefreshError(f"no database is configured for {key}: add a data target for it in the admin")
    return target


def dsn_of(target: DataTarget) -> pg.Dsn:
    value = os.environ.get(target.dsn_env_var, "").strip()
    if not value:
        raise RefreshError(
            f"{target.dsn_env_var} is not set in the worker's environment ({target.environment} database)"
        )
    return pg.Dsn.parse(value)


def production_dsn() -> pg.Dsn:
    return dsn_of(target_for(EnvironmentKey.PRODUCTION))


def guard_target(target: pg.Dsn, *, production: pg.Dsn | None):
    """The console never writes to production: refuse any target that is production's database."""
    if production is not None and target.same_database(production):
        raise RefreshError(f"refusing to write to {target}: it is production's database")
    pg.own_name(target.dbname)


def masking_key(target: DataTarget) -> str:
    key = os.environ.get(target.masking_key_env_var, "")
    if len(key) < conf.MASKING_KEY_MIN_LENGTH:
        raise RefreshError(
            f"{target.masking_key_env_var} must hold the masking key ({conf.MASKING_KEY_MIN_LENGTH}+ characters) "
            "in the worker's environment: nothing is masked without it"
        )
    return key


def check_rules_against_production() -> SchemaCheck:
    """Read production's schema (read-only) and compare it with the masking rules."""
    with pg.connect(production_dsn(), read_only=True) as conn:
        columns = read_columns(conn)
    return check_rules(columns, list(MaskingRule.objects.all()))


def make_sample_commerce(*, dsn: str, customers: int) -> dict:
    """Build the sample commerce database in `dsn`, creating it (prefix names only) when missing."""
    target = pg.Dsn.parse(dsn)
    if customers < 1:
        raise RefreshError("--customers must be at least 1")
    try:
        production = production_dsn()
    except RefreshError:
        production = None
    if production is not None and target.same_database(production):
        raise RefreshError(f"refusing to write to {target}: it is production's database")
    with pg.maintenance(target) as admin:
        if not pg.database_exists(admin, target.dbname):
            pg.create_database(admin, target.dbname, private=False)
    with pg.connect(target) as conn:
        return generate.build(conn, customers=customers)


# --- Masking rules ---------------------------------------------------------------------------------


def save_masking_rule(*, rule: MaskingRule, actor, reason: str = "") -> MaskingRule:
    """Create or change one rule, as the admin form and an import both do: permission, validation, history."""
    needed = ADD_RULE_PERMISSION if rule.pk is None else CHANGE_RULE_PERMISSION
    if actor is None or not actor.has_perm(needed):
        verb = "add" if rule.pk is None else "change"
        raise NotAllowed(f"{actor or 'Nobody'} may not {verb} masking rules ({rule}).")
    rule.full_clean()
    rule._history_user = actor
    if reason:
        rule._change_reason = reason[:100]
    rule.save()
    return rule


# --- Runs ---------------------------------------------------------------------------------------


def start_run(*, kind: str, requested_by: str = "", reason: str = "") -> RefreshRun:
    """Create a run and enqueue its chain once committed. One run at a time per environment.

    `reason`: why a person replaces the environment's database now (the admin's confirmation); the run's first event.
    """
    environment = Environment.objects.filter(key=_TARGET_OF[RunKind(kind)]).first()
    if environment is None:
        raise RefreshError(f"there is no {_TARGET_OF[RunKind(kind)]} environment: run `manage.py seed_strategy` first")
    with transaction.atomic():
        busy = (
            RefreshRun.objects.select_for_update()
            .filter(environment=environment, status__in=[RunStatus.PENDING, RunStatus.RUNNING])
            .first()
        )
        if busy is not None:
            raise RefreshError(f"{busy} is still going on {environment}; wait for it or cancel it")
        run = RefreshRun.objects.create(kind=kind, environment=environment, requested_by=requested_by)
        if reason:
            record_creation(run, actor=requested_by, reason=f"Requested by {requested_by or 'a person'}: {reason}")
        RefreshStep.objects.bulk_create(
            RefreshStep(run=run, name=name, position=i) for i, name in enumerate(STEPS[RunKind(kind)])
        )
        transaction.on_commit(lambda: enqueue(run.pk))
    return run


def enqueue(run_id: int):
    """Send the chain of the run's unfinished steps (all of them for a new run; the rest when resuming)."""
    from celery import chain

    names = list(
        RefreshStep.objects.filter(run_id=run_id)
        .exclude(status__in=[StepStatus.DONE, StepStatus.SKIPPED])
        .values_list("name", flat=True)
    )
    if names:
        chain(*(signature(STEP_TASK, run_id, name) for name in names)).apply_async()


def last_activity(run: RefreshRun):
    """When the run last showed a sign of life: its creation, or a step starting or finishing."""
    moments = [run.created_at, run.started_at]
    for started, finished in run.steps.values_list("started_at", "finished_at"):
        moments += [started, finished]
    return max(m for m in moments if m is not None)


def resume_refusal(run: RefreshRun, *, now=None) -> str:
    """Why `run` may not be resumed ('' when it may): only a failed run, or one whose worker is gone (stale)."""
    if run.status == RunStatus.FAILED:
        return ""
    if run.is_finished:
        return f"{run} is {run.status}; start a new one"
    idle = (now or timezone.now()) - last_activity(run)
    stale_after = timedelta(minutes=conf.STALE_AFTER_MINUTES)
    if idle < stale_after:
        minutes = int(idle.total_seconds() // 60)
        return (
            f"{run} is still {run.status} (last step activity {minutes} min ago): a second copy of its steps would "
            f"drop the scratch database in use. Resume it when it has failed, or once it has shown no activity for "
            f"{conf.STALE_AFTER_MINUTES} min (its worker is gone); or cancel it"
        )
    return ""


def resume_run(*, run_id: int) -> RefreshRun:
    """Enqueue the unfinished steps of a failed or stale run again; refused for a run still going."""
    with transaction.atomic():
        run = RefreshRun.objects.select_for_update().get(pk=run_id)
        if run.status == RunStatus.FAILED and run.steps.filter(name="cleanup", status=StepStatus.DONE).exists():
            raise RefreshError(f"{run} is finished and cleaned up; start a new one")
        refusal = resume_refusal(run)
        if refusal:
            raise RefreshError(refusal)
        transaction.on_commit(lambda: enqueue(run.pk))
    return run


def cancel_run(*, run_id: int, reason: str = "cancelled by an operator", actor: str = "") -> RefreshRun:
    run = RefreshRun.objects.get(pk=run_id)
    _move(run, RunStatus.CANCELLED, reason, actor=actor)
    transaction.on_commit(lambda: enqueue(run.pk))  # remaining steps are skipped; cleanup still runs
    return run


def _move(run: RefreshRun, status: str, reason: str = "", *, actor: str = "worker"):
    """Through core.status: started_at and finished_at are set by the run itself, the error here."""
    fields = {"error": reason[:4000]} if status == RunStatus.FAILED else None
    return change_status(run, status, actor=actor, reason=reason, fields=fields)


def run_step(*, run_id: int, step_name: str) -> str:
    """Run one step of a run, once: a step already done is skipped, a step of a stopped run too (but cleanup)."""
    with transaction.atomic():
        run = RefreshRun.objects.select_for_update().get(pk=run_id)
        step = run.steps.select_for_update().get(name=step_name)
        if step.status in (StepStatus.DONE, StepStatus.SKIPPED):
            return f"{step_name}: already {step.status}"
        if step_name != "cleanup" and run.is_finished:
            step.status = StepStatus.SKIPPED
            step.save(update_fields=["status"])
            return f"{step_name}: skipped, run {run.status}"
        if run.status == RunStatus.PENDING:
            _move(run, RunStatus.RUNNING, "worker picked it up")
        step.status = StepStatus.RUNNING
        step.started_at = timezone.now()
        step.save(update_fields=["status", "started_at"])

    started = time.monotonic()
    try:
        detail, counts = _STEP_FUNCTIONS[(run.kind, step_name)](run)
        status = StepStatus.DONE
    except Exception as exc:  # a refresh fails closed on anything: staging stays as it was
        logger.exception("refresh run %s step %s failed", run_id, step_name)
        detail, counts, status = str(exc) or type(exc).__name__, {}, StepStatus.FAILED
    elapsed = int((time.monotonic() - started) * 1000)

    with transaction.atomic():
        run = RefreshRun.objects.select_for_update().get(pk=run_id)
        RefreshStep.objects.filter(pk=step.pk).update(
            status=status, finished_at=timezone.now(), duration_ms=elapsed, row_counts=counts, detail=detail[:4000]
        )
        if status == StepStatus.FAILED and not run.is_finished:
            _move(run, RunStatus.FAILED, f"{step_name}: {detail}")
        elif step_name == "cleanup" and run.status == RunStatus.RUNNING:
            _move(run, RunStatus.SUCCEEDED, "all steps done")
    if status == StepStatus.FAILED and step_name != "cleanup":
        try:
            _cleanup(run)  # the chain's cleanup runs too; this covers a chain that never gets there
        except Exception:
            logger.exception("cleanup after failure of run %s", run_id)
    return f"{step_name}: {status} ({detail[:200]})"


# --- Names of the databases a run creates ----------------------------------------------------------


def _scratch(run):
    return f"{conf.DATABASE_PREFIX}scratch_{run.pk}_{run.token}"


def _next(run):
    return f"{conf.DATABASE_PREFIX}next_{run.pk}_{run.token}"


def _old(run):
    return f"{conf.DATABASE_PREFIX}old_{run.pk}_{run.token}"


def _marker(run):
    return f"amarise ops refresh run {run.pk} {run.token}"


def _live_dsn(run) -> pg.Dsn:
    return dsn_of(target_for(run.environment.key))


# --- Staging refresh steps ----------------------------------------------------------------------


def _preflight_staging(run):
    staging_target = target_for(EnvironmentKey.STAGING)
    production = production_dsn()
    staging = dsn_of(staging_target)
    guard_target(staging, production=production)
    masking_key(staging_target)
    if run.environment.email != EmailMode.SANDBOX_CAPTURE:
        raise RefreshError(
            f"staging's email mode is {run.environment.get_email_display()!r}: it must be 'Sandbox with capture' "
            "before it gets a copy of production"
        )
    with pg.connect(production, read_only=True) as conn:
        columns = read_columns(conn)
        if has_work_schema(conn):
            raise FailClosed(
                f"refused, fail closed: production has a schema {WORK_SCHEMA}, the name of the console's working "
                "schema in the copy, which the masking would overwrite and staging would lose"
            )
    check = check_rules(columns, list(MaskingRule.objects.all()))
    if not check.passed:
        raise FailClosed(f"refused, fail closed: {check.summary()}")
    return check.summary(), {}


def _copy(run):
    staging = _live_dsn(run)
    production = production_dsn()
    guard_target(staging.with_db(_scratch(run)), production=production)
    with pg.maintenance(staging) as admin:
        pg.drop_database(admin, _scratch(run))  # a half-done copy from a crashed attempt goes first
        pg.create_database(admin, _scratch(run))
    source = get_source(target_for(EnvironmentKey.STAGING).source_kind)(production)
    detail = source.copy_into(staging.with_db(_scratch(run)))
    with pg.connect(staging.with_db(_scratch(run))) as conn:
        columns = read_columns(conn)
        counts = count_rows(conn, sorted({c.table_key for c in columns}))
        joins = {fk["name"]: fk["joined"] for fk in verify.foreign_keys(conn)}
    RefreshRun.objects.filter(pk=run.pk).update(
        checks={"source": source.facts, "source_counts": counts, "source_joins": joins}
    )
    return detail, counts


def _mask(run):
    key = masking_key(target_for(EnvironmentKey.STAGING))
    rules = list(MaskingRule.objects.all())
    scratch = _live_dsn(run).with_db(_scratch(run))
    with pg.connect(scratch) as conn:
        if masking.is_masked(conn):
            return "already masked", {}
        columns = read_columns(conn)
        check = check_rules(columns, rules)  # the copy, not just production, must be fully ruled
        if not check.passed:
            raise FailClosed(f"refused, fail closed: {check.summary()}")
        with conn.transaction():
            masking.prepare(conn)
            if not masking.is_captured(conn):  # a retry after a crash mid-masking must not capture masked values
                masking.capture_production_values(conn, rules, columns, min_length=conf.LEAK_MIN_LENGTH)
    touched = masking.apply(lambda: pg.connect(scratch), rules, columns, key=key, parallel=conf.MASK_PARALLEL)
    with pg.connect(scratch) as conn, conn.transaction():
        # With the marker: a retry after a crash here rebuilds them again, from the same masked rows.
        rebuilt = masking.refresh_materialized_views(conn)
        masking.mark_masked(conn, run.pk)
        watched = masking.watched(conn)
    return (
        f"masked {len(touched)} statement(s); {len(rebuilt)} materialized view(s) rebuilt from the masked rows; "
        f"{watched} production values watched by the leak scan"
    ), touched


def _verify(run):
    rules = list(MaskingRule.objects.all())
    run.refresh_from_db()
    source = run.checks or {}
    with pg.connect(_live_dsn(run).with_db(_scratch(run))) as conn:
        columns = read_columns(conn)
        result = verify.verify(
            conn,
            rules,
            columns,
            source_counts=source.get("source_counts", {}),
            source_joins=source.get("source_joins", {}),
        )
        sample = verify.preview(conn, columns, rows=conf.PREVIEW_ROWS) if not result["problems"] else {}
    environment = Environment.objects.get(pk=run.environment_id)
    if environment.email != EmailMode.SANDBOX_CAPTURE:
        result["problems"].append("staging's email mode is no longer 'Sandbox with capture'")
    scan = result["leak_scan"]
    RefreshRun.objects.filter(pk=run.pk).update(
        leak_scan_passed=scan["passed"],
        leak_scan=scan,
        row_counts=result["counts"],
        preview=sample,
        checks={**source, "foreign_keys": result["foreign_keys"], "payment_ids_left": result["payment_ids_left"]},
    )
    if result["problems"]:
        raise RefreshError("verify failed: " + "; ".join(result["problems"]))
    fks = result["foreign_keys"]
    return (
        f"leak scan passed ({scan['columns_scanned']} columns, {scan['values_watched']} values watched); "
        f"{len(fks)} foreign keys hold",
        result["counts"],
    )


def _swap_in(run, *, build):
    """Build the new database as `next`, then swap it with the live one in one transaction."""
    live = _live_dsn(run)
    guard_target(live, production=_production_or_none())
    with pg.maintenance(live) as admin:
        if pg.database_comment(admin, live.dbname) == _marker(run):
            pg.drop_database(admin, _old(run))
            return f"{live.dbname} already swapped in"
        build(admin)
        pg.swap_databases(admin, live=live.dbname, new=_next(run), old=_old(run), marker=_marker(run))
        pg.drop_database(admin, _old(run))
    return f"{live.dbname} swapped in"


def _production_or_none():
    try:
        return production_dsn()
    except RefreshError:
        return None


def _load_staging(run):
    live = _live_dsn(run)

    def build(admin):
        pg.drop_database(admin, _next(run))  # a half-built copy from a crashed attempt goes first
        pg.create_database(admin, _next(run), template=_scratch(run), private=False)
        with pg.connect(live.with_db(_next(run)), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {masking.WORK} CASCADE")

    return _swap_in(run, build=build), {}


def _cleanup(run):
    live = _live_dsn(run)
    dropped = []
    with pg.maintenance(live) as admin:
        for name in (_scratch(run), _next(run), _old(run)):
            if pg.database_exists(admin, name):
                pg.drop_database(admin, name)
                dropped.append(name)
    return ("dropped " + ", ".join(dropped)) if dropped else "nothing to drop", {}


# --- Dev reset steps ----------------------------------------------------------------------------


def _preflight_dev(run):
    dev = _live_dsn(run)
    guard_target(dev, production=_production_or_none())
    return f"dev database {dev}", {}


def _build_dev(run):
    """dev from its real schema: an empty database, the migrations live on dev applied in order through the
    migrations executor (each in the new database's ledger), then Faker rows driven by the masking rules."""
    live = _live_dsn(run)
    seed = target_for(EnvironmentKey.DEV).dev_seed
    with pg.maintenance(live) as admin:
        if pg.database_comment(admin, live.dbname) == _marker(run):
            return "already built and swapped in", {}
        pg.drop_database(admin, _next(run))
        pg.create_database(admin, _next(run), private=False)
    applied = replay_live_migrations(environment=run.environment, url=live.with_db(_next(run)).url())
    if not applied.ok:
        raise RefreshError(f"dev's schema could not be built from its migrations: {applied.output[-1500:]}")
    with pg.connect(live.with_db(_next(run))) as conn:
        counts, left_empty, logins = devseed.build(conn, rules=list(MaskingRule.objects.all()), seed=seed)
    RefreshRun.objects.filter(pk=run.pk).update(
        row_counts=counts,
        test_logins=logins,
        checks={"migrations": applied.output[-4000:], "left_empty": left_empty},
    )
    empty = "; ".join(f"{table} ({why})" for table, why in sorted(left_empty.items()))
    first_line = applied.output.splitlines()[0].rstrip(":")
    return f"schema from {first_line}; seeded from Faker seed {seed}" + (
        f"; left empty: {empty}" if empty else ""
    ), counts


def _load_dev(run):
    def build(admin):
        if not pg.database_exists(admin, _next(run)):
            raise RefreshError(f"{_next(run)} is missing: the build step must run first")

    return _swap_in(run, build=build), {}


_STEP_FUNCTIONS = {
    (RunKind.STAGING_REFRESH, "preflight"): _preflight_staging,
    (RunKind.STAGING_REFRESH, "copy"): _copy,
    (RunKind.STAGING_REFRESH, "mask"): _mask,
    (RunKind.STAGING_REFRESH, "verify"): _verify,
    (RunKind.STAGING_REFRESH, "load"): _load_staging,
    (RunKind.STAGING_REFRESH, "cleanup"): _cleanup,
    (RunKind.DEV_RESET, "preflight"): _preflight_dev,
    (RunKind.DEV_RESET, "build"): _build_dev,
    (RunKind.DEV_RESET, "load"): _load_dev,
    (RunKind.DEV_RESET, "cleanup"): _cleanup,
}


# --- What the admin shows -------------------------------------------------------------------------


def latest_runs(environment_ids, *, status=None) -> dict:
    """The last finished run per environment (optionally of one status), in one query whatever the count."""
    runs = RefreshRun.objects.filter(finished_at__isnull=False)
    if status:
        runs = runs.filter(status=status)
    # One LIMIT 1 lookup per environment (an index walk), not a correlated subquery per run of years of runs.
    latest = runs.filter(environment_id=OuterRef("pk")).order_by("-finished_at", "-pk").values("pk")[:1]
    chosen_ids = Environment.objects.filter(pk__in=list(environment_ids)).annotate(run_id=Subquery(latest))
    chosen = RefreshRun.objects.filter(pk__in=chosen_ids.values("run_id"))
    return {r.environment_id: r for r in chosen}
