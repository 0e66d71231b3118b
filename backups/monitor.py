"""The RPO, honestly: worst-case data loss now from the last archived WAL; plus the age check verify lacks."""

import re
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from backups import conf
from backups.choices import AlertKind, BackupType, DrillKind, DrillStatus, RunStatus, Verification
from backups.models import BackupRun, ProtectedDatabase, RestoreDrill, RpoCheck
from backups.services import ALERT_SOURCE, raise_alert, resolve_alert
from monitoring.public import active_alerts

_SEGMENT = re.compile(r"^[0-9A-F]{8}([0-9A-F]{8})([0-9A-F]{8})$")

_ARCHIVER_SQL = """
select a.last_archived_wal, a.last_archived_time, a.last_failed_wal, a.last_failed_time, a.failed_count,
       current_setting('archive_mode'), (select setting::int from pg_settings where name = 'archive_timeout'),
       (select setting::bigint from pg_settings where name = 'wal_segment_size'),
       pg_current_wal_lsn()::text, now()
from pg_stat_archiver a
"""


def _lsn(text):
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def _segment_end(wal_name, segment_size):
    """The LSN just past a WAL segment, from its file name; None for .history/.partial and the like."""
    match = _SEGMENT.match(wal_name or "")
    if not match:
        return None
    log, seg = int(match.group(1), 16), int(match.group(2), 16)
    return log * 0x100000000 + (seg + 1) * segment_size


def check_rpo(*, database_id: int) -> RpoCheck:
    """Read pg_stat_archiver on the protected cluster and record the worst-case loss now; alert above the RPO."""
    database = ProtectedDatabase.objects.select_related("policy", "environment").get(pk=database_id)
    rpo = database.policy.rpo_target
    now = timezone.now()
    check = RpoCheck(database=database, checked_at=now)
    try:
        with psycopg.connect(host=database.host, port=database.port, user=database.user, dbname="postgres",
                             connect_timeout=10, autocommit=True) as conn:  # fmt: skip
            row = conn.execute(_ARCHIVER_SQL).fetchone()
    except psycopg.Error as exc:
        check.ok, check.detail = False, f"cannot read the archiver's state: {exc}".strip()[:300]
        check.save()
        raise_alert(database=database, kind=AlertKind.RPO_BREACH, summary=f"{database.stanza}: {check.detail}",
                    figures={"rpo_s": rpo.total_seconds()})  # fmt: skip
        return check

    archived_wal, archived_at, failed_wal, failed_at, failed_count, mode, timeout_s, segment, current, now = row
    check.checked_at = now
    check.last_archived_wal, check.last_archived_at = archived_wal or "", archived_at
    check.last_failed_wal, check.last_failed_at = failed_wal or "", failed_at
    check.archive_timeout = timedelta(seconds=timeout_s) if timeout_s else None
    end = _segment_end(archived_wal, segment)
    # WAL written since the last archived segment is what a loss of the cluster now would take with it.
    check.unarchived_bytes = max(0, _lsn(current) - end) if end is not None else _lsn(current)
    check.archiving_failing = mode == "off" or bool(failed_at and (archived_at is None or failed_at > archived_at))

    if check.unarchived_bytes == 0:
        check.worst_case_loss = timedelta(0)
    elif archived_at is not None:
        check.worst_case_loss = now - archived_at
    findings = []
    if mode == "off":
        findings.append("archive_mode is off: no point-in-time recovery at all")
    elif check.archiving_failing:
        findings.append(f"archiving failing since {failed_at:%Y-%m-%d %H:%M:%S} UTC ({failed_count} failures, "
                        f"last {failed_wal})")  # fmt: skip
    if check.worst_case_loss is None:
        findings.append("nothing archived yet: the loss cannot be bounded")
    elif check.worst_case_loss > rpo:
        findings.append(f"worst-case loss {_short(check.worst_case_loss)} exceeds the RPO of {_short(rpo)}")
    if check.archive_timeout is None or check.archive_timeout > rpo:
        findings.append(f"archive_timeout ({timeout_s}s) does not bound the loss within the RPO")
    check.ok = not findings
    check.detail = "; ".join(findings)[:300] or f"worst-case loss {_short(check.worst_case_loss)} within {_short(rpo)}"
    check.save()

    figures = {"worst_case_loss_s": check.worst_case_loss.total_seconds() if check.worst_case_loss else None,
               "rpo_s": rpo.total_seconds(), "last_archived_wal": check.last_archived_wal,
               "unarchived_bytes": check.unarchived_bytes}  # fmt: skip
    if check.archiving_failing:
        raise_alert(database=database, kind=AlertKind.ARCHIVING_FAILED,
                    summary=f"{database.environment}: {check.detail}", figures=figures)  # fmt: skip
    else:
        resolve_alert(database=database, kind=AlertKind.ARCHIVING_FAILED)
    if check.ok:
        resolve_alert(database=database, kind=AlertKind.RPO_BREACH)
    else:
        raise_alert(database=database, kind=AlertKind.RPO_BREACH, summary=f"{database.environment}: {check.detail}",
                    figures=figures)  # fmt: skip
    return check


def _short(delta):
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def last_good(database, backup_type=None):
    runs = BackupRun.objects.filter(database=database, status=RunStatus.GOOD)
    if backup_type:
        runs = runs.filter(type=backup_type)
    return runs.order_by("-finished_at").first()


def check_backup_age(*, database_id: int, now=None) -> list[str]:
    """No good full in 26 h, or no backup at all in 7 h, is an alert (pgBackRest itself never says so)."""
    database = ProtectedDatabase.objects.select_related("policy", "environment").get(pk=database_id)
    now = now or timezone.now()
    policy = database.policy
    findings = []
    for kind, backup_type, limit in [
        (AlertKind.FULL_TOO_OLD, BackupType.FULL, policy.full_max_age),
        (AlertKind.INCR_TOO_OLD, None, policy.incr_max_age),
    ]:
        run = last_good(database, backup_type)
        what = "full backup" if backup_type else "backup (incremental or full)"
        if run is None or now - run.finished_at > limit:
            age = "none yet" if run is None else f"last {_short(now - run.finished_at)} ago"
            summary = f"{database.environment}: no good {what} in {_short(limit)} ({age})"
            raise_alert(database=database, kind=kind, summary=summary, figures={"limit_s": limit.total_seconds()})
            findings.append(summary)
        else:
            resolve_alert(database=database, kind=kind)
    return findings


def region_problem(database: ProtectedDatabase) -> str:
    """Why the cross-region copy is not elsewhere, or '' (no copy configured, a region not stated, or two regions)."""
    if not database.repo2_path or not database.policy.cross_region_copy:
        return ""
    first, second = database.repo1_region.strip().lower(), database.repo2_region.strip().lower()
    if first and first == second:
        return (f"repo1 and repo2 are both in {first}: the cross-region copy (§9) is in the same region as the "
                "primary, so one regional outage takes both")  # fmt: skip
    return ""


def check_regions(*, database_id: int) -> str:
    """Alert while both repositories are in the same region; resolved once repo2 is elsewhere."""
    database = ProtectedDatabase.objects.select_related("policy", "environment").get(pk=database_id)
    problem = region_problem(database)
    if problem:
        raise_alert(database=database, kind=AlertKind.SAME_REGION, summary=f"{database.environment}: {problem}",
                    figures={"repo1_region": database.repo1_region, "repo2_region": database.repo2_region})  # fmt: skip
    else:
        resolve_alert(database=database, kind=AlertKind.SAME_REGION)
    return problem


@dataclass
class Finding:
    name: str
    ok: bool
    text: str


def status(database: ProtectedDatabase, *, now=None) -> list[Finding]:
    """Everything an operator asks at 3 a.m.: is the last backup good, recent and restorable in time?"""
    return statuses([database], now=now)[database.pk]


def statuses(databases, *, now=None, latest=None) -> dict[int, list[Finding]]:
    """status() of each database, in a fixed number of queries whatever their count (the admin list).

    `latest`: their latest_records(), when the caller has them already."""
    databases = list(databases)
    now = now or timezone.now()
    latest = latest or latest_records([d.pk for d in databases])
    alerts = _open_alert_counts(databases)
    return {d.pk: _findings(d, latest[d.pk], alerts.get((d.environment_id, d.stanza), 0), now) for d in databases}


def latest_records(database_ids) -> dict[int, dict]:
    """Per database: its last good full and any backup, RPO check, verify and drill (None when there is none).

    One LIMIT 1 index walk per database and kind, then one fetch per model: never a scan of a year of rows.
    """
    ids = list(database_ids)
    kinds = {
        "full": BackupRun.objects.filter(status=RunStatus.GOOD, type=BackupType.FULL).order_by("-finished_at"),
        "any_run": BackupRun.objects.filter(status=RunStatus.GOOD).order_by("-finished_at"),
        "verified": BackupRun.objects.filter(verified_at__isnull=False).order_by("-verified_at"),
        "rpo": RpoCheck.objects.order_by("-checked_at"),
        "drill": RestoreDrill.objects.filter(kind=DrillKind.DRILL, status__in=[DrillStatus.PASSED, DrillStatus.FAILED])
        .order_by("-created_at"),
    }  # fmt: skip
    chosen = ProtectedDatabase.objects.filter(pk__in=ids).order_by().values("pk")
    chosen = chosen.annotate(
        **{kind: Subquery(rows.filter(database_id=OuterRef("pk")).values("pk")[:1]) for kind, rows in kinds.items()}
    )
    picks = {row["pk"]: row for row in chosen}
    wanted = {model: {p[k] for p in picks.values() for k in kinds if kinds[k].model is model and p[k]}
              for model in (BackupRun, RpoCheck, RestoreDrill)}  # fmt: skip
    loaded = {model: model.objects.in_bulk(pks) if pks else {} for model, pks in wanted.items()}
    return {pk: {kind: loaded[kinds[kind].model].get(picks.get(pk, {}).get(kind)) for kind in kinds} for pk in ids}


def _open_alert_counts(databases) -> dict:
    """{(environment id, stanza): active backup alerts}, as open_alerts(database=…) counts them, in one query."""
    if not databases:
        return {}
    counts = {}
    rows = active_alerts(source=ALERT_SOURCE).filter(environment_id__in={d.environment_id for d in databases})
    for environment_id, labels in rows.values_list("environment_id", "labels"):
        key = (environment_id, (labels or {}).get("stanza"))
        counts[key] = counts.get(key, 0) + 1
    return counts


def _findings(database, latest, active, now) -> list[Finding]:
    policy = database.policy
    findings = []
    full, any_run = latest["full"], latest["any_run"]
    findings.append(Finding("Last full", bool(full and now - full.finished_at <= policy.full_max_age),
                            f"{full.label}, {_short(now - full.finished_at)} ago" if full else "none"))  # fmt: skip
    findings.append(Finding("Last backup", bool(any_run and now - any_run.finished_at <= policy.incr_max_age),
                            f"{any_run.get_type_display().lower()} {any_run.label}, "
                            f"{_short(now - any_run.finished_at)} ago" if any_run else "none"))  # fmt: skip
    rpo = latest["rpo"]
    fresh = rpo and now - rpo.checked_at <= timedelta(seconds=3 * conf.rpo_check_interval())
    rpo_text = (rpo.detail + ("" if fresh else " (check is stale)")) if rpo else "not checked yet"
    findings.append(Finding("RPO now", bool(rpo and rpo.ok and fresh), rpo_text))
    # The latest verify is what counts: an old failure fixed since is not red, and no verify at all is not green.
    verified = latest["verified"]
    verify_text = "never verified"
    if verified:
        outcome = "errors found" if verified.verification == Verification.FAILED else "valid"
        verify_text = f"{outcome} ({verified.verify_detail}), {_short(now - verified.verified_at)} ago"
    findings.append(Finding("Verify", bool(verified and verified.verification == Verification.PASSED), verify_text))
    drill = latest["drill"]
    drill_text = "no drill yet"
    if drill:
        drill_text = f"#{drill.pk} {drill.status}, RTO {_short(drill.measured_rto) if drill.measured_rto else '—'}"
    findings.append(Finding("Last drill", bool(drill and drill.status == DrillStatus.PASSED), drill_text))
    findings.append(Finding("Open alerts", active == 0, str(active)))
    return findings
