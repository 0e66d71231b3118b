from django.core.management.base import BaseCommand, CommandError

from retention import services
from retention.models import RetentionPolicy


class Command(BaseCommand):
    help = "Prune every table with a retention period now, in this process (or only --table ...)."

    def add_arguments(self, parser):
        parser.add_argument("--table", action="append", default=[], help='A policy\'s table, e.g. "backups.RpoCheck".')

    def handle(self, *args, table, **options):
        policies = RetentionPolicy.objects.filter(enabled=True)
        if table:
            unknown = sorted(set(table) - set(policies.filter(table__in=table).values_list("table", flat=True)))
            if unknown:
                raise CommandError(f"No enabled retention policy for {', '.join(unknown)}.")
            policies = policies.filter(table__in=table)
        for policy in policies:
            try:
                run = services.prune(policy_id=policy.pk, started_by="manage.py prune_retention")
            except services.RetentionError as exc:
                raise CommandError(str(exc)) from None
            if run is None:
                self.stdout.write(f"{policy.table}: kept (no retention period)")
            else:
                rolled = (f", {run.rolled_up} hourly rows rolled up, {run.rollups_removed} past their period removed"
                          if policy.rolls_up else "")  # fmt: skip
                self.stdout.write(f"{policy.table}: {run.removed} rows before {run.cutoff:%Y-%m-%d %H:%M} removed"
                                  f"{rolled} ({run.status})")  # fmt: skip
