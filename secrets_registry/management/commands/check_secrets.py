from django.core.management.base import BaseCommand, CommandError

from environments.public import Environment, EnvironmentKey
from secrets_registry import services


class Command(BaseCommand):
    help = (
        "The secrets existence and drift check (also daily on beat): every reference exists in the manager with a "
        "current version, is replicated to the DR region and is not overdue. Exits 1 when any is red. Reads no value."
    )

    def add_arguments(self, parser):
        parser.add_argument("--environment", choices=EnvironmentKey.values, help="Only this environment.")

    def handle(self, *args, environment=None, **options):
        target = None
        if environment:
            target = Environment.objects.filter(key=environment).first()
            if target is None:
                raise CommandError(f"Environment {environment!r} is not set up: run `manage.py seed_strategy`.")
        report = services.check_secrets(environment=target)
        for name in report.ok:
            self.stdout.write(f"  ok    {name}")
        for name, problems in report.failing.items():
            self.stdout.write(self.style.ERROR(f"  red   {name}: {'; '.join(problems)}"))
        if not report.passed:
            self.stderr.write(f"check_secrets: {report.summary()}")
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(report.summary()))
