"""Restores: the weekly drill into a scratch cluster that measures the RTO, and the real point-in-time restore."""

import time
from datetime import timedelta
from pathlib import Path

import psycopg
import psycopg.sql
from django.db import transaction
from django.utils import timezone

import core.tasks
from backups import conf
from backups.choices import AlertKind, DrillKind, DrillStatus
from backups.drivers import process
from backups.drivers.base import DriverError
from backups.drivers.cluster import Cluster, free_port, remove_directory
from backups.drivers.pgbackrest import server_environment
from backups.exceptions import BackupRefused, InvalidTransition
from backups.models import BackupRun, ProtectedDatabase, RestoreDrill, ServiceTier
from backups.services import driver_for, raise_alert, resolve_alert, worker_actor
from core.status import change_status, record_creation


def request_drill(*, database_id: int, actor: str, target_time=None, repo: int = 1, enqueue=True) -> RestoreDrill:
    database = ProtectedDatabase.objects.get(pk=database_id)
    if target_time is not None and target_time > timezone.now():
        raise BackupRefused("The target time is in the future: nothing to restore there yet.")
    if repo == 2 and not database.repo2_path:
        raise BackupRefused(f"{database.stanza} has no repo2.")
    with transaction.atomic():
        drill = RestoreDrill.objects.create(database=database, kind=DrillKind.DRILL, target_time=target_time,
                                            repo=repo, requested_by=actor)  # fmt: skip
        record_creation(drill, actor=actor, reason="requested")
    if enqueue:
        _enqueue(drill)
    return drill


def request_restore(*, database_id: int, actor: str, target_time, reason: str, confirmation: str, repo: int = 1,
                    enqueue=True) -> RestoreDrill:  # fmt: skip
    """Restore a point in time into a new data directory, for a person to promote. Typed confirmation required."""
    database = ProtectedDatabase.objects.get(pk=database_id)
    if confirmation.strip() != database.stanza:
        raise BackupRefused(f"Type the stanza name {database.stanza!r} to confirm a real restore.")
    if not reason.strip():
        raise BackupRefused("Say why: a real restore records who asked for it and why.")
    if target_time is None:
        raise BackupRefused("Choose the point in time to restore to.")
    if target_time > timezone.now():
        raise BackupRefused("The target time is in the future: nothing to restore there yet.")
    if repo == 2 and not database.repo2_path:
        raise BackupRefused(f"{database.stanza} has no repo2.")
    with transaction.atomic():
        drill = RestoreDrill.objects.create(database=database, kind=DrillKind.RESTORE, target_time=target_time,
                                            repo=repo, requested_by=actor, reason=reason.strip())  # fmt: skip
        record_creation(drill, actor=actor, reason=reason.strip())
    if enqueue:
        _enqueue(drill)
    return drill


def _enqueue(drill):
    core.tasks.enqueue("backups.run_drill", drill.pk)


def _move(drill, new_status, *, reason="", **fields):
    change_status(drill, new_status, actor=worker_actor(), reason=reason, fields=fields)
    return drill


def execute(*, drill_id: int) -> RestoreDrill:
    """Run a queued drill or restore. Only the caller that claims the row runs it."""
    drill = RestoreDrill.objects.select_related("database__policy", "database__environment").get(pk=drill_id)
    try:
        claimed = change_status(drill, DrillStatus.RUNNING, actor=worker_actor(), reason="claimed",
                                fields={"started_at": timezone.now()})  # fmt: skip
    except InvalidTransition:  # finished already
        return drill
    if not claimed:
        return drill
    if drill.kind == DrillKind.RESTORE:
        return _restore_for_real(drill)
    return _drill(drill)


def _restore_for_real(drill):
    database = drill.database
    driver = driver_for(database)
    stamp = drill.target_time.strftime("%Y%m%dT%H%M%SZ")
    target = Path(database.work_dir) / "restores" / f"restore-{drill.pk}-{stamp}"
    try:
        driver.write_config()
        process.make_dir(target.parent, database.os_user, mode=0o750)
        process.make_dir(target, database.os_user)
        label = driver.restore(drill.repo, str(target), target_time=drill.target_time)
    except (DriverError, OSError) as exc:
        return _move(drill, DrillStatus.FAILED, reason=str(exc)[:500], error=str(exc), finished_at=timezone.now(),
                     target_directory=str(target))  # fmt: skip
    return _move(drill, DrillStatus.PASSED, reason=f"restored {label} into {target}", backup_label=label,
                 target_directory=str(target), recovery_point=drill.target_time,
                 finished_at=timezone.now())  # fmt: skip


class ScratchRestore:
    """A restored copy of a protected database, serving queries in a scratch cluster on a free port.

    Never over a live cluster, archiving off so it pushes nothing into the repositories, and stopped and
    deleted on leaving the block whatever happened. The drill measures it; the staging refresh copies from it.
    """

    def __init__(self, database, *, name, repo=1, target_time=None, only_databases=()):
        self.database = database
        self.repo = repo
        self.target_time = target_time
        self.only_databases = only_databases
        self.directory = Path(database.work_dir) / "scratch" / name
        self.label = ""
        self.cluster = None
        self.removed = None
        self.stop_error = ""

    def __enter__(self):
        try:
            self._restore_and_start()
        except BaseException:
            self._tear_down()
            raise
        return self

    def __exit__(self, *exc):
        self._tear_down()
        return False

    def recovery_point(self):
        """The last transaction replayed or, with none after the backup, the end of the backup itself."""
        replayed = self.cluster.recovery_point() if self.cluster else None
        return replayed or _backup_end(self.database, self.repo, self.label)

    def _restore_and_start(self):
        database = self.database
        driver = driver_for(database)
        data = self.directory / "data"
        driver.write_config()
        process.make_dir(self.directory, database.os_user)
        process.make_dir(data, database.os_user)
        self.label = driver.restore(self.repo, str(data), target_time=self.target_time,
                                    only_databases=self.only_databases)  # fmt: skip
        if not (data / "postgresql.conf").exists():
            # Debian keeps the configuration outside the data directory; a scratch copy needs none of it.
            (data / "postgresql.conf").write_text("# scratch restore\n")
            process.chown_to(data / "postgresql.conf", database.os_user)
        # It listens only on a socket in its own 0700 directory: trust there, nothing else.
        hba = self.directory / "scratch_hba.conf"
        hba.write_text("local all all trust\n")
        process.chown_to(hba, database.os_user)
        self.cluster = Cluster(bin_dir=database.pg_bin_dir, data_directory=data, port=free_port(),
                               socket_directory=self.directory, os_user=database.os_user)  # fmt: skip
        # Its restore_command (archive-get) decrypts WAL from an encrypted repository: it needs the passphrase too.
        self.cluster.start("archive_mode=off", f"hba_file='{hba}'", timeout=conf.drill_start_timeout(),
                           env=server_environment(driver.cfg))  # fmt: skip
        self.cluster.wait_serving(conf.drill_start_timeout())

    def _tear_down(self):
        if self.cluster is not None:
            try:
                self.cluster.stop("immediate")
            except DriverError as exc:
                self.stop_error = f"stopping the scratch cluster: {exc}"
        self.removed = remove_directory(self.directory)


def _drill(drill):
    database = drill.database
    fields = {}
    started = time.monotonic()
    restored = ScratchRestore(database, name=f"drill-{drill.pk}", repo=drill.repo, target_time=drill.target_time)
    try:
        with restored:
            measured = timedelta(seconds=time.monotonic() - started)
            reached = restored.recovery_point()
            fields.update(serving_at=timezone.now(), measured_rto=measured, recovery_point=reached)
            fields["results"] = [
                _check_service(restored.cluster, service, measured) for service in ServiceTier.objects.all()
            ]
    except (DriverError, OSError) as exc:
        fields["error"] = str(exc)
    if restored.label:  # also when the restore worked and the start did not
        fields["backup_label"] = restored.label
    if restored.stop_error:
        fields["error"] = "; ".join(filter(None, [fields.get("error", ""), restored.stop_error]))
    fields["scratch_removed"] = restored.removed
    fields["target_directory"] = str(restored.directory)
    fields["finished_at"] = timezone.now()

    results = fields.get("results", [])
    missed = [r for r in results if not r["rto_met"]]
    broken = [r for r in results if not r["ok"]]
    passed = not fields.get("error") and results and not missed and not broken
    if not results and not fields.get("error"):
        fields["error"] = "no services to check: add service tiers"
    if passed:
        why = "every service served in time and its data checks passed"
    elif fields.get("error"):
        why = fields["error"][:500]
    elif missed:
        why = "missed the RTO of " + ", ".join(r["service"] for r in missed)
    else:
        why = "data checks failed for " + ", ".join(r["service"] for r in broken)
    drill = _move(drill, DrillStatus.PASSED if passed else DrillStatus.FAILED, reason=why, **fields)
    if missed:
        raise_alert(database=database, kind=AlertKind.RTO_MISSED,
                    summary=f"Drill #{drill.pk} of {database.environment}: measured RTO {drill.measured_rto} misses "
                            f"{', '.join(r['service'] + ' (' + r['rto_target'] + ')' for r in missed)}",
                    figures={"drill": drill.pk, "measured_rto_s": drill.measured_rto.total_seconds(),
                             "missed": missed})  # fmt: skip
    else:
        resolve_alert(database=database, kind=AlertKind.RTO_MISSED)
    if fields.get("error") or broken:
        raise_alert(database=database, kind=AlertKind.DRILL_FAILED,
                    summary=f"Drill #{drill.pk} of {database.environment} failed: "
                            f"{fields.get('error') or ', '.join(r['service'] for r in broken)}",
                    figures={"drill": drill.pk})  # fmt: skip
    elif passed:
        resolve_alert(database=database, kind=AlertKind.DRILL_FAILED)
    return drill


def _backup_end(database, repo, label):
    run = BackupRun.objects.filter(database=database, labels__contains={str(repo): label}).first() if label else None
    return run.finished_at if run else None


def _check_service(cluster, service, measured):
    result = {
        "service": service.name,
        "tier": service.tier,
        "rto_target": str(service.rto),
        "rto_target_s": service.rto.total_seconds(),
        "measured_rto_s": round(measured.total_seconds(), 3),
        "rto_met": measured <= service.rto,
        "database": service.database_name,
        "counts": {},
        "checksum": None,
        "ok": True,
        "error": "",
    }
    try:
        with cluster.connect(service.database_name) as conn:
            for table in service.tables:
                query = psycopg.sql.SQL("select count(*) from {}").format(psycopg.sql.Identifier(table))
                result["counts"][table] = conn.execute(query).fetchone()[0]
            if service.checksum_query.strip():
                with conn.transaction():
                    conn.execute("set transaction read only")
                    value = conn.execute(service.checksum_query).fetchone()
                result["checksum"] = None if value is None else str(value[0])
    except psycopg.Error as exc:
        result["ok"], result["error"] = False, str(exc).strip().splitlines()[0][:300]
    return result
