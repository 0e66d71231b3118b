from datetime import timedelta

from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from backups import conf
from backups.choices import BackupType, RunStatus
from backups.models import BackupRun, ProtectedDatabase, RpoCheck
from core.dashboard import CardLine


def backup_lines(environments):
    """On each environment's card: its last good backup and the RPO, green or red. One query for all cards."""
    from backups.monitor import _short
    from backups.overview import age

    now = timezone.now()
    good = BackupRun.objects.filter(database=OuterRef("pk"), status=RunStatus.GOOD).order_by("-finished_at")
    rpo = RpoCheck.objects.filter(database=OuterRef("pk")).order_by("-checked_at")
    databases = (
        ProtectedDatabase.objects.filter(environment_id__in=[env.pk for env in environments])
        .select_related("policy")
        .annotate(
            last_label=Subquery(good.values("label")[:1]),
            last_at=Subquery(good.values("finished_at")[:1]),
            last_full_at=Subquery(good.filter(type=BackupType.FULL).values("finished_at")[:1]),
            rpo_ok=Subquery(rpo.values("ok")[:1]),
            rpo_at=Subquery(rpo.values("checked_at")[:1]),
            rpo_loss=Subquery(rpo.values("worst_case_loss")[:1]),
        )
    )
    stale = timedelta(seconds=3 * conf.rpo_check_interval())
    lines = {}
    for database in databases:
        policy = database.policy
        url = reverse("admin:backups_protecteddatabase_page", args=[database.pk])
        recent = bool(
            database.last_at
            and database.last_full_at
            and now - database.last_at <= policy.incr_max_age
            and now - database.last_full_at <= policy.full_max_age
        )
        rpo_green = bool(database.rpo_ok and database.rpo_at and now - database.rpo_at <= stale)
        loss = _short(database.rpo_loss) if database.rpo_loss is not None else "unknown"
        last = f"{database.last_label} · {age(database.last_at, now)}" if database.last_at else "none"
        lines[database.environment_id] = [
            CardLine("Last good backup", last, tone="ok" if recent else "bad", url=url),
            CardLine("RPO", f"{loss} / {_short(policy.rpo_target)}", tone="ok" if rpo_green else "bad", url=url),
        ]
    return lines
