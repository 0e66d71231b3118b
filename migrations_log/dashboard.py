from django.db.models import Count, Max, Q
from django.urls import reverse

from core.dashboard import CardLine
from migrations_log.choices import RunStatus
from migrations_log.models import MigrationRun


def migration_lines(environments):
    """Per environment: the last migration applied; on staging, the runs awaiting a person's verification."""
    ids = [e.pk for e in environments]
    stats = {
        row["environment_id"]: row
        for row in MigrationRun.objects.filter(environment_id__in=ids)
        .values("environment_id")
        .annotate(
            last=Max("migration__identifier", filter=Q(status=RunStatus.APPLIED)),
            unverified=Count("pk", filter=Q(status=RunStatus.APPLIED, verified_at__isnull=True)),
        )
    }
    url = reverse("admin:migrations_log_migrationrun_changelist")
    lines = {}
    for env in environments:
        row = stats.get(env.pk)
        rows = []
        if row and row["last"]:
            rows.append(CardLine("Schema", row["last"], url=f"{url}?environment__id__exact={env.pk}"))
        if row and env.key == "staging" and row["unverified"]:
            rows.append(CardLine("Migrations to verify", str(row["unverified"]), tone="warn", url=url))
        lines[env.pk] = rows
    return lines
