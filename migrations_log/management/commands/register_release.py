from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from deployments.public import Actor
from migrations_log.exceptions import MigrationRefused
from migrations_log.services import register_release


class Command(BaseCommand):
    help = "Register a release's migrations directory (every *.sql file in it): lint, checksum, forward-only rules."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # The interface is --version v2.0; Django's own --version (its release) gives way.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--version", dest="release_version", required=True, help="Release version, e.g. v2.0.")
        parser.add_argument("--migrations", required=True, help="Directory holding the release's *.sql migrations.")
        parser.add_argument("--ref", default="", help="Git ref, when the release is new (default: the version).")
        parser.add_argument("--ref-kind", default="", choices=["", "branch", "tag"])

    def handle(self, *args, release_version, migrations, ref, ref_kind, **options):
        directory = Path(migrations)
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        try:
            files = {path.name: path.read_text() for path in sorted(directory.glob("*.sql"))}
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read the migrations: {exc}") from None
        if not files:
            raise CommandError(f"{directory} holds no *.sql migration.")
        try:
            registered = register_release(
                version=release_version, files=files, ref=ref, ref_kind=ref_kind, actor=Actor.CI
            )
        except MigrationRefused as exc:
            raise CommandError(str(exc)) from None
        for migration in registered.new:
            for finding in migration.findings.all():
                self.stdout.write(f"  {finding.location} [{finding.severity}] {finding.rule}: {finding.message}")
        self.stdout.write(self.style.SUCCESS(registered.summary()))
