import os

from django.core.management.base import BaseCommand, CommandError
from dotenv import dotenv_values

from environments.choices import EnvironmentKey
from environments.models import Environment
from environments.services import check_variables
from secrets_registry.public import check_environment_secrets


class Command(BaseCommand):
    help = (
        "Check a process environment (or an env file) against the variables the strategy requires (§7). "
        "Exits 1 when a variable is missing, wrong or unexpected. Never prints a value."
    )

    def add_arguments(self, parser):
        parser.add_argument("--environment", required=True, choices=EnvironmentKey.values)
        parser.add_argument("--env-file", help="Check this .env file instead of the process environment.")
        parser.add_argument(
            "--secrets",
            action="store_true",
            help="Instead: every variable must resolve to a secret reference that exists in the secret manager.",
        )

    def handle(self, *args, environment, env_file=None, secrets=False, **options):
        try:
            target = Environment.objects.get(key=environment)
        except Environment.DoesNotExist:
            raise CommandError(f"Environment {environment!r} is not set up: run `manage.py seed_strategy`.") from None
        if secrets:
            return self._check_secrets(target)
        if env_file:
            try:
                with open(env_file, encoding="utf-8") as handle:
                    values = dotenv_values(stream=handle)
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"Cannot read env file {env_file}: {exc}") from None
            source = env_file
        else:
            values, source = dict(os.environ), "the process environment"

        report = check_variables(target, values)
        self.stdout.write(f"Checking {target.name} against {source}:")
        for name in report.ok:
            self.stdout.write(f"  ok          {name}")
        for line in report.missing:
            self.stdout.write(self.style.ERROR(f"  missing     {line}"))
        for line in report.wrong:
            self.stdout.write(self.style.ERROR(f"  wrong       {line}"))
        for line in report.unexpected:
            self.stdout.write(self.style.WARNING(f"  unexpected  {line}"))
        summary = (
            f"{len(report.ok)} ok, {len(report.missing)} missing, "
            f"{len(report.wrong)} wrong, {len(report.unexpected)} unexpected"
        )
        if not report.passed:
            self.stderr.write(f"check_env: {target.name} fails: {summary}")
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"{target.name} passes: {summary}"))

    def _check_secrets(self, target):
        report = check_environment_secrets(target)
        self.stdout.write(f"Checking {target.name}'s variables against the secret manager (no value is read):")
        for line in report.ok:
            self.stdout.write(f"  ok          {line}")
        for line in report.missing:
            self.stdout.write(self.style.ERROR(f"  missing     {line}"))
        if not report.passed:
            self.stderr.write(f"check_env: {target.name} fails: {'; '.join(report.missing)}")
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"{target.name} passes: {len(report.ok)} secrets present"))
