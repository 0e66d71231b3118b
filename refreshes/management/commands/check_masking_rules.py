from django.core.management.base import BaseCommand, CommandError

from refreshes import services
from refreshes.exceptions import RefreshError


class Command(BaseCommand):
    help = "Compare the masking rules with production's schema (read-only). Exit 1 while any column is unruled."

    def handle(self, *args, **options):
        try:
            check = services.check_rules_against_production()
        except RefreshError as exc:
            raise CommandError(str(exc)) from None
        if not check.passed:
            raise CommandError(check.summary(), returncode=1)
        self.stdout.write(self.style.SUCCESS(check.summary()))
