"""Print where the environments disagree with the strategy's plan; exit status 1 when a cell is off the plan."""

import sys

from django.core.management.base import BaseCommand

from flags import services


def _on(value):
    return "on" if value else "off"


class Command(BaseCommand):
    help = "Drift report: staging vs production, and every flag that differs from the seeded table (§3)."

    def add_arguments(self, parser):
        parser.add_argument("--stale", action="store_true", help="Also list stale flags (OPS_FLAGS_STALE_DAYS).")

    def handle(self, *args, stale=False, **options):
        report = services.drift_report()
        self.stdout.write("Staging differs from production:")
        for key, staging, production in report.staging_vs_production:
            self.stdout.write(f"  {key}: staging {_on(staging)}, production {_on(production)}")
        if not report.staging_vs_production:
            self.stdout.write("  none")
        self.stdout.write("Differs from the strategy's table:")
        for key, env, planned, actual in report.off_plan:
            self.stdout.write(f"  {key} in {env}: planned {_on(planned)}, now {_on(actual)}")
        if not report.off_plan:
            self.stdout.write("  none")
        if stale:
            flags = services.stale_flags()
            self.stdout.write("Stale flags:")
            for flag in flags:
                since = f"{flag.last_change:%Y-%m-%d}"
                self.stdout.write(f"  {flag.key}: {_on(flag.on)} everywhere, unchanged since {since}")
            if not flags:
                self.stdout.write("  none")
        if report.off_plan:
            sys.exit(1)
