"""What the backups page shows for one protected database: read-only queries, no pgBackRest calls."""

from datetime import timedelta

from django.utils import timezone

from backups import conf, monitor
from backups.choices import IN_FLIGHT, BackupType, DrillKind, DrillStatus, RunStatus
from backups.drivers.pgbackrest import archive_command, cipher_pass_variables, render_config
from backups.models import BackupRun, RestoreDrill, RpoCheck
from backups.services import open_alerts, stanza_config


def age(instant, now):
    if instant is None:
        return "—"
    seconds = max(0, int((now - instant).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds // 86400} days ago"


def human_bytes(n):
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def chart(runs, *, width=720, height=160):
    """An inline SVG: one bar per run for its size, a dot for its duration. No JavaScript, no library."""
    runs = [r for r in runs if r.size_bytes and r.duration]
    if not runs:
        return None
    top_size = max(r.size_bytes for r in runs)
    top_time = max(r.duration.total_seconds() for r in runs) or 1
    step = min(width / len(runs), 40)  # a lone run is a bar, not a wall
    bars, dots = [], []
    for i, run in enumerate(runs):
        h = max(2, run.size_bytes / top_size * (height - 20))
        colour = "#5b8def" if run.type == BackupType.FULL else "#9bb8f3"
        label = (f"{run.finished_at:%Y-%m-%d %H:%M} {run.get_type_display()}: {human_bytes(run.size_bytes)}, "
                 f"{run.duration.total_seconds():.1f}s")  # fmt: skip
        bars.append({"x": round(i * step + 1, 1), "y": round(height - h, 1), "w": round(max(1, step - 2), 1),
                     "h": round(h, 1), "colour": colour, "label": label})  # fmt: skip
        dy = height - run.duration.total_seconds() / top_time * (height - 20)
        dots.append({"x": round(i * step + step / 2, 1), "y": round(dy, 1)})
    return {"width": width, "height": height, "bars": bars, "dots": dots,
            "top_size": human_bytes(top_size), "top_time": f"{top_time:.1f}s"}  # fmt: skip


def overview(database):
    now = timezone.now()
    policy = database.policy
    runs = BackupRun.objects.filter(database=database)
    last_full = monitor.last_good(database, BackupType.FULL)
    last_incr = monitor.last_good(database, BackupType.INCR)
    rpo = RpoCheck.objects.filter(database=database).first()
    drill = RestoreDrill.objects.filter(database=database, kind=DrillKind.DRILL,
                                        status__in=[DrillStatus.PASSED, DrillStatus.FAILED]).first()  # fmt: skip
    latest_sizes = next((r.repo_sizes for r in runs.filter(status=RunStatus.GOOD)[:1]), {})
    month = list(runs.filter(status=RunStatus.GOOD, finished_at__gte=now - timedelta(days=30)).order_by("finished_at"))
    findings = monitor.status(database, now=now)
    in_flight = (
        runs.filter(status__in=IN_FLIGHT).exists()
        or RestoreDrill.objects.filter(database=database, status__in=[DrillStatus.QUEUED, DrillStatus.RUNNING]).exists()
    )
    cfg = stanza_config(database)
    repositories = [
        {"name": f"repo{r.number}", "where": f"S3 bucket {r.s3.bucket} ({r.s3.endpoint})" if r.s3 else r.path,
         "region": r.region or "region not set"}
        for r in cfg.repos
    ]  # fmt: skip
    return {
        "database": database,
        "policy": policy,
        "findings": findings,
        "green": all(f.ok for f in findings),
        "last_full": last_full,
        "last_full_age": age(last_full.finished_at if last_full else None, now),
        "last_incr": last_incr,
        "last_incr_age": age(last_incr.finished_at if last_incr else None, now),
        "rpo": rpo,
        "rpo_loss": monitor._short(rpo.worst_case_loss) if rpo and rpo.worst_case_loss is not None else "unknown",
        "rpo_target": monitor._short(policy.rpo_target),
        "wal_age": age(rpo.last_archived_at if rpo else None, now),
        "drill": drill,
        "drill_rto": monitor._short(drill.measured_rto) if drill and drill.measured_rto else "—",
        "repositories": repositories,
        "region_problem": monitor.region_problem(database),
        "repo_sizes": [(f"repo{k}", human_bytes(v)) for k, v in sorted(latest_sizes.items())],
        "chart": chart(month),
        "runs": runs[:15],
        "drills": RestoreDrill.objects.filter(database=database)[:10],
        "alerts": open_alerts(database=database),
        "in_flight": in_flight,
        "config_text": render_config(cfg),
        "archive_command": archive_command(cfg, binary=conf.pgbackrest_bin()),
        "cipher_pass_variables": cipher_pass_variables(cfg),
        "now": now,
    }
