from django.core.management.base import BaseCommand, CommandError

from monitoring import services
from monitoring.exceptions import EngineUnavailable


class Command(BaseCommand):
    help = "Read Alertmanager's silences now: ones that ended there end in the console too (beat: every minute)."

    def handle(self, *args, **options):
        try:
            self.stdout.write(services.sync_silences())
        except EngineUnavailable as exc:
            raise CommandError(str(exc)) from None
