"""Backup rules: the policy's schedule, backup runs (claimed before pgBackRest starts), verify, reconcile, alerts
(raised on monitoring's alerting path).

Restores and drills are in drills.py, the RPO and age monitor in monitor.py, the asset buckets in buckets.py.
"""

import json
import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

import core.tasks
from backups import conf, strategy
from backups.choices import IN_FLIGHT, AlertKind, BackupType, RepoType, RunStatus, Verification
from backups.drivers import PGBACKREST, backup_drivers
from backups.drivers.base import BackupDriver, DriverError
from backups.drivers.pgbackrest import Repo, S3Storage, StanzaConfig
from backups.exceptions import BackupRefused, InvalidTransition
from backups.models import BackupPolicy, BackupRun, ProtectedDatabase
from core.status import change_status, record_creation
from monitoring.public import AlertSeverity, active_alerts
from monitoring.public import raise_alert as monitoring_raise_alert
from monitoring.public import resolve_alert as monitoring_resolve_alert

logger = logging.getLogger(__name__)


# --- the policy's schedule ------------------------------------------------------------------------------------


def _crontab(*, minute, hour, day_of_week="*"):
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute=str(minute), hour=str(hour), day_of_week=str(day_of_week), day_of_month="*", month_of_year="*",
        timezone="UTC",
    )  # fmt: skip
    return schedule


def policy_schedules(policy: BackupPolicy):
    """(name, task, crontab kwargs, task kwargs, enabled) for each beat job the policy implies."""
    n = policy.incr_every_hours
    incr_hours = [h for h in range(24) if h % n == policy.full_hour_utc % n and h != policy.full_hour_utc]
    prefix = f"Backups ({policy.name})"
    return [
        (f"{prefix}: full", strategy.FULL_TASK,
         {"minute": policy.full_minute, "hour": policy.full_hour_utc}, {"policy_id": policy.pk, "type": "full"}, True),
        (f"{prefix}: incremental", strategy.FULL_TASK,
         {"minute": policy.full_minute, "hour": ",".join(map(str, incr_hours)) or "*"},
         {"policy_id": policy.pk, "type": "incr"}, bool(incr_hours)),
        (f"{prefix}: verify", strategy.VERIFY_TASK,
         {"minute": 0, "hour": policy.verify_hour_utc}, {"policy_id": policy.pk}, True),
        (f"{prefix}: restore drill", strategy.DRILL_TASK,
         {"minute": 0, "hour": policy.drill_hour_utc, "day_of_week": policy.drill_weekday},
         {"policy_id": policy.pk}, True),
    ]  # fmt: skip


@transaction.atomic
def apply_policy_schedule(policy: BackupPolicy):
    """Make beat's rows say what the policy says, in the caller's transaction: the schedule follows the policy."""
    names = []
    for name, task, cron, kwargs, enabled in policy_schedules(policy):
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={"task": task, "crontab": _crontab(**cron), "interval": None, "kwargs": json.dumps(kwargs),
                      "enabled": enabled},
        )  # fmt: skip
        names.append(name)
    return names


@transaction.atomic
def save_policy(*, policy: BackupPolicy, actor: str):
    policy.full_clean()
    policy._change_reason = f"edited by {actor}"
    policy.save()
    return apply_policy_schedule(policy)


# --- the driver ------------------------------------------------------------------------------------------------


def stanza_config(database: ProtectedDatabase) -> StanzaConfig:
    retention = database.policy.retention_days
    repos = [Repo(1, database.repo1_path, retention, region=database.repo1_region)]
    if database.repo2_path:
        s3 = None
        if database.repo2_type == RepoType.S3:
            s3 = S3Storage(bucket=database.repo2_s3_bucket, endpoint=database.repo2_s3_endpoint,
                           region=database.repo2_region, uri_style=database.repo2_s3_uri_style,
                           port=database.repo2_s3_port, ca_file=database.repo2_s3_ca_file,
                           verify_tls=database.repo2_s3_verify_tls, key_env=database.repo2_s3_key_env,
                           secret_env=database.repo2_s3_secret_env)  # fmt: skip
        repos.append(Repo(2, database.repo2_path, retention, region=database.repo2_region, s3=s3))
    return StanzaConfig(
        stanza=database.stanza,
        data_directory=database.data_directory,
        port=database.port,
        socket_directory=database.socket_directory,
        user=database.user,
        os_user=database.os_user,
        work_dir=database.work_dir,
        repos=repos,
        cipher=database.cipher,
        cipher_pass_env=database.cipher_pass_env,
        start_fast=database.start_fast,
    )


def driver_for(database: ProtectedDatabase) -> BackupDriver:
    driver = backup_drivers.get(PGBACKREST)
    return driver(stanza_config(database), binary=conf.pgbackrest_bin(), timeout=conf.command_timeout())


def check_stanza(*, database_id: int) -> ProtectedDatabase:
    """Write the configuration, create the stanza when missing, run `pgbackrest check`; record the outcome."""
    database = ProtectedDatabase.objects.select_related("policy").get(pk=database_id)
    driver = driver_for(database)
    try:
        driver.write_config()
        driver.stanza_create()
        driver.check()
        ok, detail = True, f"check passed on repo{' and repo'.join(str(r) for r in database.repos)}"
    except (DriverError, OSError) as exc:
        ok, detail = False, str(exc)
    ProtectedDatabase.objects.filter(pk=database.pk).update(
        last_check_at=timezone.now(), last_check_ok=ok, last_check_detail=detail[:2000]
    )
    database.refresh_from_db()
    return database


def request_stanza_check(*, database_id: int) -> None:
    """`pgbackrest check` by a worker, once the caller's transaction commits."""
    core.tasks.enqueue("backups.check_stanza", database_id)


def request_verify(*, database_id: int) -> None:
    """`pgbackrest verify` of each repository by a worker, once the caller's transaction commits."""
    core.tasks.enqueue("backups.verify_database", database_id)


def request_rpo_check(*, database_id: int) -> None:
    """The RPO and backup-age checks (monitor.py) by a worker, once the caller's transaction commits."""
    core.tasks.enqueue("backups.check_rpo", database_id)


def request_bucket_check(*, bucket_id: int) -> None:
    """The asset bucket's settings read by a worker (buckets.check_bucket), once the caller's transaction commits."""
    core.tasks.enqueue("backups.check_bucket", bucket_id)


# --- backup runs -----------------------------------------------------------------------------------------------


def request_backup(
    *, database_id: int, backup_type: str, actor: str, enqueue: bool = True, reason: str = ""
) -> BackupRun:
    """Claim a queued run. A second one while one is in flight is refused, by the database itself."""
    if backup_type not in BackupType.values:
        raise BackupRefused(f"Unknown backup type {backup_type!r}: use full or incr.")
    database = ProtectedDatabase.objects.get(pk=database_id)
    try:
        with transaction.atomic():
            run = BackupRun.objects.create(database=database, type=backup_type, requested_by=actor)
            record_creation(run, actor=actor, reason=f"requested: {reason}" if reason else "requested")
    except IntegrityError:
        current = BackupRun.objects.filter(database=database, status__in=IN_FLIGHT).first()
        raise BackupRefused(
            f"A backup of {database.stanza} is already in flight (run #{current.pk if current else '?'}, "
            f"{current.status if current else 'in flight'}); wait for it to finish."
        ) from None
    if enqueue:
        core.tasks.enqueue("backups.run_backup", run.pk)
    return run


def worker_actor() -> str:
    """Who a worker process is, in event rows: host and pid."""
    return f"worker {socket.gethostname()}:{os.getpid()}"


def _claim(run_id: int) -> bool:
    """Queued to running, by this worker. A run already claimed (or finished) is not claimed again."""
    now = timezone.now()
    run = BackupRun.objects.get(pk=run_id)
    try:
        return change_status(run, RunStatus.RUNNING, actor=worker_actor(), reason="claimed",
                             fields={"started_at": now, "heartbeat_at": now, "worker_host": socket.gethostname(),
                                     "worker_pid": os.getpid()}).changed  # fmt: skip
    except InvalidTransition:
        return False


def _stamp(entry):
    return datetime.fromtimestamp(entry, tz=UTC) if entry else None


def execute_backup(*, run_id: int) -> BackupRun:
    """Run pgBackRest for a queued run. Safe to call twice: only the caller that claims the row runs it."""
    if not _claim(run_id):
        return BackupRun.objects.get(pk=run_id)
    run = BackupRun.objects.select_related("database__policy", "database__environment").get(pk=run_id)
    database = run.database
    driver = driver_for(database)
    actor = worker_actor()

    def heartbeat():
        BackupRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(heartbeat_at=timezone.now())

    reached, labels = [], {}
    try:
        driver.write_config()
        info = driver.info()
        if {r.number for r in driver.cfg.repos} - {db["repo-key"] for db in info.get("db", [])}:
            # A new stanza, or a repository added since: create it where it is missing (idempotent).
            driver.stanza_create()
            info = driver.info()
        before = {(b["database"]["repo-key"], b["label"]) for b in info.get("backup", [])}
        for repo in database.repos:
            try:
                driver.backup(run.type, repo, on_tick=heartbeat)
            except DriverError as exc:
                raise DriverError(f"repo{repo}: {exc}", permanent=exc.permanent) from None
            reached.append(repo)
        after = driver.backups()
    except (DriverError, OSError) as exc:
        change_status(run, RunStatus.FAILED, actor=actor, reason=str(exc)[:500],
                      fields={"error": str(exc), "finished_at": timezone.now(), "repos_reached": reached})  # fmt: skip
        raise_alert(database=database, kind=AlertKind.BACKUP_FAILED, summary=f"{run}: {exc}"[:300],
                    figures={"run": run.pk, "repos_reached": reached})  # fmt: skip
        return run

    new = [b for b in after if (b["database"]["repo-key"], b["label"]) not in before]
    for entry in new:
        labels[str(entry["database"]["repo-key"])] = entry["label"]
    primary = next((b for b in new if b["database"]["repo-key"] == reached[0]), None)
    after_keys = {(b["database"]["repo-key"], b["label"]) for b in after}
    expired = sorted(f"repo{repo}:{label}" for repo, label in before - after_keys)
    if primary is None or primary.get("error"):
        change_status(run, RunStatus.FAILED, actor=actor, reason="pgBackRest reported no good backup",
                      fields={"error": "pgBackRest finished but its info shows no good backup for this run",
                              "finished_at": timezone.now(), "repos_reached": reached, "expired": expired})  # fmt: skip
        return run
    reason = "pgBackRest info confirms the backup"
    if primary["type"] != run.type:
        # pgBackRest turns an incremental into a full when the repository has no full to base it on.
        reason += f"; pgBackRest made it a {primary['type']} (no prior full in repo{reached[0]})"
    change_status(run, RunStatus.GOOD, actor=actor, reason=reason, fields=dict(
        type=primary["type"], finished_at=timezone.now(), repos_reached=reached, labels=labels,
        label=primary["label"], prior_label=primary.get("prior") or "", size_bytes=primary["info"]["size"],
        repo_size_bytes=primary["info"]["repository"]["delta"], wal_start=primary["archive"]["start"] or "",
        wal_stop=primary["archive"]["stop"] or "", expired=expired, repo_sizes=_repo_sizes(after),
    ))  # fmt: skip
    resolve_alert(database=database, kind=AlertKind.BACKUP_FAILED)
    return run


def _repo_sizes(backups):
    sizes = {}
    for entry in backups:
        repo = str(entry["database"]["repo-key"])
        sizes[repo] = sizes.get(repo, 0) + entry["info"]["repository"]["delta"]
    return sizes


def run_scheduled(*, policy_id: int, backup_type: str) -> list[str]:
    """Beat's entry: a backup of each enabled database under the policy. One already in flight is skipped."""
    outcomes = []
    for database in ProtectedDatabase.objects.filter(policy_id=policy_id, enabled=True):
        try:
            run = request_backup(database_id=database.pk, backup_type=backup_type, actor="beat")
            outcomes.append(f"{database.stanza}: queued #{run.pk}")
        except BackupRefused as exc:
            outcomes.append(f"{database.stanza}: skipped ({exc})")
    return outcomes


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # A killed worker whose parent died too may linger as a zombie nobody reaps.
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]  # noqa: SIM115, PTH123
    except (OSError, IndexError):
        return True
    # A reused pid reads as alive; the heartbeat catches that case.
    return state not in ("Z", "X")


def reconcile_runs(*, now=None) -> list[int]:
    """Fail the runs whose worker died: its process is gone (same host) or its heartbeat stopped. Never good."""
    now = now or timezone.now()
    host = socket.gethostname()
    failed = []
    for run in BackupRun.objects.filter(status=RunStatus.RUNNING):
        dead_here = run.worker_host == host and run.worker_pid and not _pid_alive(run.worker_pid)
        silent = run.heartbeat_at is None or now - run.heartbeat_at > timedelta(seconds=conf.stale_after())
        if dead_here or silent:
            why = "its worker process is gone" if dead_here else f"no heartbeat since {run.heartbeat_at:%H:%M:%S}"
            reason = f"worker died mid-backup: {why}"
            try:
                change_status(
                    run,
                    RunStatus.FAILED,
                    actor="reconcile",
                    reason=reason,
                    fields={"error": reason, "finished_at": now},
                )
            except InvalidTransition:
                continue
            failed.append(run.pk)
    # A queued run whose task message was lost would block the database forever.
    for run in BackupRun.objects.filter(status=RunStatus.QUEUED, created_at__lt=now - timedelta(hours=1)):
        try:
            change_status(
                run,
                RunStatus.FAILED,
                actor="reconcile",
                reason="never picked up by a worker",
                fields={"error": "never picked up by a worker within an hour", "finished_at": now},
            )
        except InvalidTransition:
            continue
        failed.append(run.pk)
    return failed


# --- verify ----------------------------------------------------------------------------------------------------


@dataclass
class VerifyOutcome:
    repo: int
    ok: bool
    report: str


def verify_database(*, database_id: int) -> list[VerifyOutcome]:
    """`pgbackrest verify` on each repository; marks the runs it covers verified or not, and alerts on errors."""
    database = ProtectedDatabase.objects.select_related("policy", "environment").get(pk=database_id)
    driver = driver_for(database)
    driver.write_config()
    outcomes, found = [], {}
    runs = list(BackupRun.objects.filter(database=database, status=RunStatus.GOOD))
    for repo in [r.number for r in driver.cfg.repos]:
        try:
            ok, report = driver.verify(repo)
        except DriverError as exc:
            ok, report = False, f"verify could not run: {exc}"
        outcomes.append(VerifyOutcome(repo, ok, report))
        invalid = {line.split()[1].rstrip(",") for line in map(str.strip, report.splitlines())
                   if line.startswith("backup: ") and "status: invalid" in line}  # fmt: skip
        for run in runs:
            label = run.labels.get(str(repo))
            if label:
                # Errors verify could not pin on one backup (WAL, or verify failing) count against all of them.
                found.setdefault(run.pk, []).append((repo, label in invalid or (not ok and not invalid)))
    now = timezone.now()
    for pk, items in found.items():
        BackupRun.objects.filter(pk=pk).update(
            verification=Verification.FAILED if any(bad for _, bad in items) else Verification.PASSED,
            verified_at=now,
            verify_detail="; ".join(f"repo{repo}: {'errors found' if bad else 'valid'}" for repo, bad in items),
        )
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise_alert(database=database, kind=AlertKind.VERIFY_FAILED,
                    summary=f"verify found errors in {', '.join(f'repo{o.repo}' for o in failed)}",
                    figures={f"repo{o.repo}": o.report[:1500] for o in failed})  # fmt: skip
    else:
        resolve_alert(database=database, kind=AlertKind.VERIFY_FAILED)
    return outcomes


# --- alerts ----------------------------------------------------------------------------------------------------
# Backup checks raise alerts on monitoring's one alerting path: one alert per check and database (or bucket),
# deduplicated while it fires and resolved when the check passes again.

ALERT_SOURCE = "backups"
ALERT_NAMES = {
    AlertKind.RPO_BREACH: "BackupRpoBreached",
    AlertKind.ARCHIVING_FAILED: "WalArchivingFailing",
    AlertKind.FULL_TOO_OLD: "BackupFullStale",
    AlertKind.INCR_TOO_OLD: "BackupStale",
    AlertKind.VERIFY_FAILED: "BackupVerifyFailed",
    AlertKind.BACKUP_FAILED: "BackupFailed",
    AlertKind.RTO_MISSED: "RestoreDrillRtoMissed",
    AlertKind.DRILL_FAILED: "RestoreDrillFailed",
    AlertKind.BUCKET_DRIFT: "AssetBucketDrift",
    AlertKind.SAME_REGION: "BackupCopySameRegion",
}
# A missed RTO, a breached RPO or failing archiving is critical: it opens a High incident, with the figures.
_INCIDENT_KINDS = {AlertKind.RPO_BREACH, AlertKind.RTO_MISSED, AlertKind.ARCHIVING_FAILED}


def alert_identity(kind: str, *, database=None, bucket=None) -> tuple:
    """(environment, alert name, labels) of a check: stable, so a failing check deduplicates and resolves."""
    labels = {"check": str(kind)}
    if database is not None:
        labels["stanza"], environment = database.stanza, database.environment
    if bucket is not None:
        labels["bucket"], environment = bucket.name, bucket.environment
    if kind in _INCIDENT_KINDS:
        labels["incident_severity"] = "high"
    return environment, ALERT_NAMES[kind], labels


def alert_summary(summary: str, figures=None) -> str:
    text = str(summary)
    if figures:
        text += " " + json.dumps(figures, default=str, sort_keys=True)
    return text[:500]


def raise_alert(*, kind: str, summary: str, figures=None, database=None, bucket=None) -> dict:
    """Raise the check's alert (nothing new while it already fires); a critical one opens a High incident."""
    environment, name, labels = alert_identity(kind, database=database, bucket=bucket)
    severity = AlertSeverity.CRITICAL if kind in _INCIDENT_KINDS else AlertSeverity.WARNING
    return monitoring_raise_alert(environment=environment, name=name, severity=severity, labels=labels,
                                  summary=alert_summary(summary, figures), source=ALERT_SOURCE)  # fmt: skip


def resolve_alert(*, kind: str, database=None, bucket=None) -> dict:
    environment, name, labels = alert_identity(kind, database=database, bucket=bucket)
    labels.pop("incident_severity", None)
    return monitoring_resolve_alert(environment=environment, name=name, labels=labels)


def open_alerts(*, database=None, environment=None):
    """The backup alerts still active, of one database (its stanza) or one environment."""
    if database is not None:
        return active_alerts(environment=database.environment, source=ALERT_SOURCE, labels={"stanza": database.stanza})
    return active_alerts(environment=environment, source=ALERT_SOURCE)
