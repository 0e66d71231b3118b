from django.core.management.base import BaseCommand

from core.tokens import expires_text, expiring


class Command(BaseCommand):
    help = "API tokens: --expiring lists the live tokens that expire within a week (exit 0 either way)."

    def add_arguments(self, parser):
        parser.add_argument("--expiring", action="store_true", help="List tokens expiring within a week.")

    def handle(self, *args, expiring_only=False, **options):
        if not options["expiring"]:
            self.stdout.write("Nothing to do: use --expiring.")
            return
        soon = list(expiring())
        if not soon:
            self.stdout.write("No API token expires within a week.")
            return
        for token in soon:
            environments = ",".join(e.key for e in token.environments.all())
            self.stdout.write(
                f"{token.prefix}  {token.name}  owner={token.owner}  environments={environments}  "
                f"expires={expires_text(token.expires_at)}"
            )
