from django.core.management.base import BaseCommand, CommandError

from monitoring import config, services
from monitoring.exceptions import MonitoringRefused


class Command(BaseCommand):
    help = (
        "Write the generated Prometheus and Alertmanager configuration (checked by promtool and amtool) to a "
        "directory, for git; or, with --apply, where the engines read it (OPS_MONITORING_CONFIG_DIR) and reload them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", help="Directory to write to (the webhook token is never written here).")
        parser.add_argument("--apply", action="store_true", help="Write to OPS_MONITORING_CONFIG_DIR and reload.")

    def handle(self, *args, output=None, apply=False, **options):
        if not output and not apply:
            raise CommandError("Give --output DIR, or --apply.")
        try:
            if apply:
                self.stdout.write(services.apply_configuration())
            if output:
                for path in config.export(output):
                    self.stdout.write(path)
        except MonitoringRefused as exc:
            raise CommandError(str(exc)) from None
