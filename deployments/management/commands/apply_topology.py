from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from deployments import topology


class Command(BaseCommand):
    help = "Load the deployment topology (policies, slots, drivers, triggers) from a YAML file. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None
        try:
            changes = topology.apply(text)
        except topology.TopologyError as exc:
            raise CommandError(f"{file}: {exc} (nothing was changed)") from None
        for change in changes:
            self.stdout.write(f"  changed  {change}")
        self.stdout.write(self.style.SUCCESS(f"Topology applied: {len(changes)} change(s)."))
