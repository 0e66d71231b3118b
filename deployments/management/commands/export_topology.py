from django.core.management.base import BaseCommand

from deployments import topology


class Command(BaseCommand):
    help = "Write the deployment topology as YAML (to stdout, or --output FILE), for version control."

    def add_arguments(self, parser):
        parser.add_argument("--output")

    def handle(self, *args, output=None, **options):
        text = topology.export()
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stdout.write(self.style.SUCCESS(f"Topology written to {output}."))
        else:
            self.stdout.write(text, ending="")
