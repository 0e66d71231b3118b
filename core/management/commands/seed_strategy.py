from django.core.management.base import BaseCommand

from core.seeding import seed_all


class Command(BaseCommand):
    help = "Load the environment strategy into the console. Safe to re-run; operator edits are kept."

    def handle(self, *args, **options):
        report = seed_all()
        for line in report.created:
            self.stdout.write(f"  created  {line}")
        for line in report.updated:
            self.stdout.write(f"  updated  {line}")
        for line in report.kept:
            self.stdout.write(f"  kept     {line} (edited by an operator)")
        self.stdout.write(self.style.SUCCESS(f"Strategy seeded: {report.summary()}."))
