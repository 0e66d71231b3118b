import time

from django.core.management.base import BaseCommand, CommandError

from refreshes import services
from refreshes.exceptions import RefreshError


class Command(BaseCommand):
    help = "Build the sample AMARISÉ commerce database (set-based) in DSN, creating the database if it is missing."

    def add_arguments(self, parser):
        parser.add_argument("--dsn", required=True, help="postgres://USER@HOST:PORT/NAME")
        parser.add_argument("--customers", type=int, default=1000)

    def handle(self, *args, dsn, customers, **options):
        started = time.monotonic()
        try:
            counts = services.make_sample_commerce(dsn=dsn, customers=customers)
        except (RefreshError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        for table, count in counts.items():
            self.stdout.write(f"{table}: {count}")
        self.stdout.write(self.style.SUCCESS(f"sample commerce database built in {time.monotonic() - started:.1f}s"))
