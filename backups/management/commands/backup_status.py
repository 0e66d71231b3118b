import sys

from django.core.management.base import BaseCommand

from backups import monitor
from backups.management.commands._common import protected_database


class Command(BaseCommand):
    help = "Print the backup checks of an environment; exit status 1 when any is red."

    def add_arguments(self, parser):
        parser.add_argument("environment")

    def handle(self, *args, environment, **options):
        database = protected_database(environment)
        findings = monitor.status(database)
        for finding in findings:
            self.stdout.write(f"{'ok ' if finding.ok else 'RED'}  {finding.name:<12} {finding.text}")
        if not all(f.ok for f in findings):
            sys.exit(1)
