"""§6 rules: registering a release's migrations, linting, deprecations, verification and promotion guards."""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core.git_refs import ref_problem
from deployments.public import Actor, Deployment, DeploymentStatus, RefKind, Release, create_release
from environments.public import Environment, EnvironmentKey
from migrations_log import lint, strategy
from migrations_log.choices import Classification, DraftStatus, RunStatus, Severity
from migrations_log.exceptions import MigrationRefused
from migrations_log.models import (
    IDENTIFIER,
    Deprecation,
    LintFinding,
    Migration,
    MigrationRun,
    MigrationSet,
    MigrationSpan,
    MigrationTarget,
    ReverseMigration,
    checksum,
)
from migrations_log.sql import SqlRefused, analyse
from refreshes.public import STAGING_REFRESH_PERIOD

# \Z, not $: `$` also matches before a trailing newline, so "0001_x.sql\n" would pass.
_FILENAME = re.compile(r"\A(\d+)_[A-Za-z0-9_]+\.sql\Z")


@dataclass
class Registered:
    release: Release
    new: list[Migration]
    unchanged: list[Migration]

    def summary(self):
        errors = LintFinding.objects.filter(migration__in=self.new, severity=Severity.ERROR).count()
        warnings = LintFinding.objects.filter(migration__in=self.new, severity=Severity.WARNING).count()
        return (
            f"{self.release}: {len(self.new)} new migration(s), {len(self.unchanged)} already registered; "
            f"{errors} lint error(s), {warnings} warning(s)."
        )


def _environments_where_applied(identifier):
    return sorted(
        MigrationRun.objects.filter(migration__identifier=identifier, status=RunStatus.APPLIED)
        .order_by("environment__order")
        .values_list("environment__name", flat=True)
        .distinct()
    )


def _classify(analysis):
    if analysis.drops or any(s.renames for s in analysis.statements):
        return Classification.DESTRUCTIVE
    if analysis.deprecates:
        return Classification.DEPRECATING
    return Classification.ADDITIVE


def register_release(*, version, files, ref="", ref_kind="", actor=Actor.PERSON, user=None):
    """Record `version`'s migration set ({filename: sql}, the whole migrations directory).

    Refused, changing nothing, when a migration applied anywhere is missing or modified (§6: never deleted,
    never modified after deployment), or a file is not valid SQL the console can run.
    """
    version = (version or "").strip()
    if not version:
        raise MigrationRefused("A release version is required, e.g. v2.0.")
    for what, name in (("version", version), ("ref", ref)):
        problem = ref_problem(name) if name else ""
        if problem:
            raise MigrationRefused(f"The release {what} {name!r} is not a valid git ref name: {problem}.")
    bad = sorted(name for name in files if not _FILENAME.match(name))
    if bad:
        raise MigrationRefused(f"{', '.join(bad)}: name migration files <number>_<name>.sql, e.g. 0007_add_note.sql.")
    by_identifier = {name[: -len(".sql")]: sql for name, sql in files.items()}

    problems = []
    analyses = {}
    for identifier, sql in sorted(by_identifier.items()):
        try:
            analyses[identifier] = analyse(sql, filename=f"{identifier}.sql")
        except SqlRefused as exc:
            problems.append(str(exc))
    existing = {m.identifier: m for m in Migration.objects.filter(identifier__in=by_identifier)}
    for identifier, migration in sorted(existing.items()):
        if migration.sha256 != checksum(by_identifier[identifier]):
            where = _environments_where_applied(identifier)
            if where:
                problems.append(
                    f"{identifier}.sql was modified after it ran on {', '.join(where)} (checksum "
                    f"{checksum(by_identifier[identifier])[:12]}… ≠ recorded {migration.sha256[:12]}…): migrations are "
                    "never modified after deployment; add a new migration instead."
                )
    applied = (
        MigrationRun.objects.filter(status=RunStatus.APPLIED)
        .exclude(migration__identifier__in=by_identifier)
        .values_list("migration__identifier", flat=True)
        .distinct()
    )
    for identifier in sorted(set(applied)):
        problems.append(
            f"{identifier}.sql is missing, but it ran on {', '.join(_environments_where_applied(identifier))}: "
            "migrations are never deleted; a rollback is a new, reverse migration."
        )
    if problems:
        raise MigrationRefused(" ".join(problems))

    to_lint = {
        f"{identifier}.sql": sql
        for identifier, sql in by_identifier.items()
        if identifier not in existing or existing[identifier].sha256 != checksum(sql)
    }
    try:
        findings = lint.lint(to_lint, {f"{i}.sql": a for i, a in analyses.items()})
    except lint.LintUnavailable as exc:
        raise MigrationRefused(f"Cannot lint the migrations: {exc}") from None

    with transaction.atomic():
        release = Release.objects.select_for_update().filter(version=version).first()
        if release is None:
            release = create_release(
                version=version,
                ref=ref or version,
                ref_kind=ref_kind or (RefKind.TAG if version.startswith("v") else RefKind.BRANCH),
                actor=actor,
                user=user,
            )
        new, unchanged = [], []
        for identifier, sql in sorted(by_identifier.items(), key=lambda kv: (int(kv[0].split("_")[0]), kv[0])):
            analysis = analyses[identifier]
            migration = existing.get(identifier)
            if migration is not None and migration.sha256 == checksum(sql):
                unchanged.append(migration)
            else:
                migration = _record_migration(migration, identifier, sql, analysis, release)
                LintFinding.objects.bulk_create(
                    LintFinding(
                        migration=migration,
                        line=f.line,
                        column=f.column,
                        rule=f.rule,
                        severity=f.severity,
                        message=f.message,
                        help=f.help,
                        drops=f.drops,
                    )
                    for f in findings[f"{identifier}.sql"]
                )
                new.append(migration)
        # A re-registered release's set is exactly its directory now (under a new registration number).
        MigrationSet.record(release, new + unchanged)
        for migration in new:
            evaluate_drops(migration)
    return Registered(release=release, new=new, unchanged=unchanged)


def _record_migration(migration, identifier, sql, analysis, release):
    if migration is None:
        migration = Migration(identifier=identifier, release=release)
    else:
        # Modified before it ran anywhere: the new text replaces the old (the history keeps both).
        migration.findings.all().delete()
        migration.deprecations.all().delete()
    migration.sequence = int(identifier.split("_")[0])
    migration.sql = sql
    migration.sha256 = checksum(sql)
    migration.classification = _classify(analysis)
    migration.transactional = analysis.transactional
    if analysis.estimate_seconds is not None:
        migration.estimate_seconds = analysis.estimate_seconds
    migration.save()
    for kind, table, column in analysis.deprecates:
        Deprecation.objects.get_or_create(
            table=table, column=column, defaults={"kind": kind, "release": migration.release, "migration": migration}
        )
    return migration


# --- The console's own rule: drop only what was deprecated in a release that reached production ------------


def deprecation_in_production(deprecation, *, dropping) -> bool:
    """A release holding the deprecating migration, but not the drop, went out to production successfully."""
    return (
        Deployment.objects.filter(
            environment__key=EnvironmentKey.PRODUCTION,
            status=DeploymentStatus.SUCCEEDED,
            release__in=releases_holding(deprecation.migration),
        )
        .exclude(release__in=releases_holding(dropping))
        .exists()
    )


def drop_refusal(target: str, *, migration) -> str:
    """'' when `migration` may drop `target` (table or table.column), or why not."""
    table, _, column = target.partition(".")
    lookup = Q(table=table, column="") | (Q(table=table, column=column) if column else Q())
    deprecation = Deprecation.objects.filter(lookup).select_related("release", "migration").first()
    if deprecation is None:
        return (
            f"{target} was never marked deprecated: deprecate it in one release (-- deprecates …), "
            "drop it in a later one."
        )
    if deprecation.release_id == migration.release_id or deprecation.migration_id == migration.pk:
        return f"{target} is deprecated in this same release {migration.release}; drop it in a later release."
    if not deprecation_in_production(deprecation, dropping=migration):
        return f"{target} was deprecated in {deprecation.release}, which has not reached production yet."
    return ""


def evaluate_drops(migration):
    """Re-judge squawk's drop findings against the deprecations; production moves on, so this is re-run."""
    for finding in migration.findings.filter(rule__in=strategy.DROP_RULES):
        targets = [t for t in finding.drops.split(",") if t]
        reasons = [r for t in targets if (r := drop_refusal(t, migration=migration))]
        severity = Severity.ERROR if (reasons or not targets) else Severity.ALLOWED
        if severity != finding.severity:
            finding.severity = severity
            finding.save(update_fields=["severity"])


def drop_reasons(finding):
    return [r for t in finding.drops.split(",") if t and (r := drop_refusal(t, migration=finding.migration))]


# --- Promotion ------------------------------------------------------------------------------------------


def _at_least(environment, key):
    threshold = Environment.objects.filter(key=key).values_list("order", flat=True).first()
    return threshold is not None and environment.order >= threshold


# --- Migration sets: the only way to read them (spans of registration numbers, see MigrationSet) ------------


def release_migrations(release):
    """The migrations `release`'s directory held when it was last registered, in the order they apply."""
    seq = MigrationSet.objects.filter(release=release).order_by().values("seq")
    held = MigrationSpan.objects.covering(seq).filter(migration=OuterRef("pk"))
    return Migration.objects.filter(Exists(held)).order_by("sequence", "identifier")


def releases_holding(migration):
    """The releases whose registered set holds `migration`."""
    spans = MigrationSpan.objects.filter(migration=migration).covering(OuterRef("migration_set__seq"))
    return Release.objects.filter(Exists(spans))


def releases_with_migrations():
    """Releases registered with at least one migration, newest first."""
    return Release.objects.filter(migration_set__size__gt=0).order_by("-created_at", "-pk")


def pending(*, release, environment):
    applied = MigrationRun.objects.filter(environment=environment, status=RunStatus.APPLIED).values("migration")
    return list(release_migrations(release).exclude(pk__in=applied))


def start_refusal(*, release, environment) -> str:
    """Why `release` may not be deployed to `environment` yet, for its migrations' sake ('' when it may)."""
    waiting = pending(release=release, environment=environment)
    if not waiting:
        return ""
    problems = []
    target = MigrationTarget.objects.filter(environment=environment).first()
    if target is None or not target.enabled:
        problems.append(
            f"{len(waiting)} migration(s) pending, but {environment}'s migration target is not enabled: set its "
            "database URL variable in the worker's environment, then enable the target (Migrations log → targets)."
        )
    if _at_least(environment, strategy.LINT_ERRORS_BLOCK_FROM):
        for migration in waiting:
            evaluate_drops(migration)
        errors = LintFinding.objects.filter(migration__in=waiting, severity=Severity.ERROR).select_related("migration")
        if errors:
            problems.append(
                "Lint errors block promotion beyond dev: "
                + "; ".join(f"{f.location} {f.rule}" for f in errors[:10])
                + ("…" if len(errors) > 10 else "")
                + "."
            )
    if _at_least(environment, strategy.ESTIMATE_REQUIRED_FROM):
        missing = [m.identifier for m in waiting if m.estimate_seconds is None]
        if missing:
            problems.append(f"Estimated execution time is required before {environment}: {', '.join(missing)}.")
    if _at_least(environment, strategy.TESTED_LOCALLY_REQUIRED_FROM):
        untested = [m.identifier for m in waiting if m.tested_locally_at is None]
        if untested:
            problems.append(f"Not reported tested locally by CI: {', '.join(untested)}.")
    if environment.key == strategy.VERIFICATION_REQUIRED_FOR:
        unverified = unverified_on_staging(waiting)
        if unverified:
            problems.append(f"Unverified on staging: {', '.join(unverified)}; a person verifies the staging run first.")
    return " ".join(problems)


def unverified_on_staging(migrations):
    verified = set(
        MigrationRun.objects.filter(
            migration__in=migrations,
            environment__key=strategy.VERIFIED_ON,
            status=RunStatus.APPLIED,
            verified_at__isnull=False,
        ).values_list("migration_id", flat=True)
    )
    return [m.identifier for m in migrations if m.pk not in verified]


def start_guard(*, release, environment):
    refusal = start_refusal(release=release, environment=environment)
    return f"Migrations of {release}: {refusal}" if refusal else ""


def migrations_tested(*, release, environment) -> bool:
    """The checklist item "Database migrations tested", evaluated: what the guard demands of this environment."""
    waiting = pending(release=release, environment=environment)
    if environment.key == strategy.VERIFICATION_REQUIRED_FOR:
        return not unverified_on_staging(waiting)
    return all(m.tested_locally_at for m in waiting)


# --- People's and CI's acts ----------------------------------------------------------------------------


def _require(user, perm, what):
    if user is None or not user.has_perm(f"migrations_log.{perm}"):
        raise MigrationRefused(f"You need the permission to {what}.")


def acknowledge(*, finding_id, user, reason):
    _require(user, "acknowledge_lint_finding", "acknowledge lint warnings")
    reason = (reason or "").strip()
    if not reason:
        raise MigrationRefused("Acknowledging a warning needs a reason.")
    with transaction.atomic():
        finding = LintFinding.objects.select_for_update().select_related("migration").get(pk=finding_id)
        if finding.severity != Severity.WARNING:
            raise MigrationRefused(
                f"{finding.location} {finding.rule} is an error; errors are fixed, not acknowledged."
            )
        if finding.acknowledged_at:
            return finding
        finding.acknowledged_by, finding.acknowledged_at = user, timezone.now()
        finding.acknowledgement_reason = reason[:300]
        finding.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_reason"])
    return finding


def stale_data_problem(run) -> str:
    """Why a staging run did not test on production-like data (§6), or '': its data older than the weekly
    refresh plus a day when it ran, or never refreshed from production at all."""
    limit = STAGING_REFRESH_PERIOD + timedelta(days=1)
    again = "Refresh staging (its migrations ledger comes back from production, so the migration runs there again) "
    again += "and verify that run."
    if run.data_refreshed_at is None:
        return (f"{run.environment}'s data had never been refreshed from production when {run.migration} ran: "
                f"not a test on production-like data (§6). {again}")  # fmt: skip
    age = run.started_at - run.data_refreshed_at
    if age <= limit:
        return ""
    return (f"{run.environment}'s data was {age.total_seconds() / 86400:.1f} days old when {run.migration} ran "
            f"(last refresh {run.data_refreshed_at:%Y-%m-%d %H:%M} UTC), more than the {limit.days} days allowed "
            f"(the weekly refresh plus a day): not a test on production-like data (§6). {again}")  # fmt: skip


def verify_run(*, run_id, user):
    _require(user, "verify_migration_run", "verify staging migration runs")
    with transaction.atomic():
        run = MigrationRun.objects.select_for_update().select_related("environment", "migration").get(pk=run_id)
        if run.environment.key != strategy.VERIFIED_ON:
            raise MigrationRefused(f"Only {strategy.VERIFIED_ON} runs are verified; this one ran on {run.environment}.")
        if run.status != RunStatus.APPLIED:
            raise MigrationRefused(
                f"{run.migration} on {run.environment} did not apply ({run.status}); nothing to verify."
            )
        if run.verified_at:
            return run
        problem = stale_data_problem(run)
        if problem:
            raise MigrationRefused(problem)
        run.verified_by, run.verified_at = user, timezone.now()
        run.save(update_fields=["verified_by", "verified_at"])
    return run


def report_tested_locally(*, version, identifiers=None):
    """CI says the release's migrations (or the named ones) passed locally."""
    release = Release.objects.filter(version=version).first()
    if release is None:
        raise MigrationRefused(f"No release {version!r}.")
    migrations = release_migrations(release)
    if identifiers:
        unknown = sorted(set(identifiers) - set(migrations.values_list("identifier", flat=True)))
        if unknown:
            raise MigrationRefused(f"Not in {version}: {', '.join(unknown)}.")
        migrations = migrations.filter(identifier__in=identifiers)
    return migrations.filter(tested_locally_at__isnull=True).update(tested_locally_at=timezone.now())


def set_estimate(*, migration_id, seconds):
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        raise MigrationRefused("The estimate is a number of seconds.") from None
    if seconds <= 0:
        raise MigrationRefused("The estimate must be more than 0 seconds.")
    Migration.objects.filter(pk=migration_id).update(estimate_seconds=seconds)


REVERSE_PERMISSION = "migrations_log.add_reversemigration"


def create_reverse_draft(*, migration_id, user=None):
    """Forward only: record a draft of the new migration that undoes this one. Never a down migration."""
    if user is not None:
        _require(user, "add_reversemigration", "draft reverse migrations")
    migration = Migration.objects.get(pk=migration_id)
    draft = migration.reverse_drafts.filter(status=DraftStatus.DRAFT).first()
    if draft:
        return draft
    sequence = (Migration.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0) + 1
    identifier = f"{sequence:04d}_reverse_{migration.identifier.split('_', 1)[1]}"[:200]
    IDENTIFIER(identifier)
    original = "\n".join(f"--   {line}" for line in migration.sql.strip().splitlines())
    sql = (
        f"-- Reverses {migration.identifier} (forward only: this is a new migration, applied like any other).\n"
        f"-- estimate: {migration.estimate_seconds or 1:g}s\n"
        f"-- What {migration.identifier} did:\n{original}\n"
        "-- Write the statements that undo it, backward compatible with the live release, then register this\n"
        "-- file with the next release.\n"
    )
    return ReverseMigration.objects.create(reverses=migration, identifier=identifier, sql=sql, created_by=user)


def matrix(release):
    """Rows of (migration, {environment: latest run or None}) for the per-release view."""
    environments = list(Environment.objects.filter(migration_target__isnull=False).order_by("order"))
    # The SQL text is not shown: a release of 400 migrations would load it for every row and run.
    migrations = list(release_migrations(release).defer("sql").prefetch_related("findings"))
    by_id = {m.pk: m for m in migrations}
    latest = {}
    runs = MigrationRun.objects.filter(migration_id__in=list(by_id)).select_related("verified_by")
    for run in runs.order_by("started_at"):
        run.migration = by_id[run.migration_id]  # a cell's "slow" reads its estimate: no query per run
        latest[(run.migration_id, run.environment_id)] = run
    rows = [(m, [(e, latest.get((m.pk, e.pk))) for e in environments]) for m in migrations]
    return environments, rows
