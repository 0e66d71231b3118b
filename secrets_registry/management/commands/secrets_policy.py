import json

from django.core.management.base import BaseCommand, CommandError

from environments.public import Environment, EnvironmentKey
from secrets_registry import policy


class Command(BaseCommand):
    help = (
        "Print (or write) the least-privilege IAM policy of an environment's service accounts, for the "
        "infrastructure repository. Exits 1 when a reference may be read by a person."
    )

    def add_arguments(self, parser):
        parser.add_argument("--environment", required=True, choices=EnvironmentKey.values)
        parser.add_argument("--output", help="Write the JSON here instead of standard output.")

    def handle(self, *args, environment, output=None, **options):
        target = Environment.objects.filter(key=environment).first()
        if target is None:
            raise CommandError(f"Environment {environment!r} is not set up: run `manage.py seed_strategy`.")
        document = policy.export(target)
        text = json.dumps(document, indent=2) + "\n"
        if output:
            try:
                with open(output, "w", encoding="utf-8") as handle:
                    handle.write(text)
            except OSError as exc:
                raise CommandError(f"Cannot write {output}: {exc}") from None
        else:
            self.stdout.write(text, ending="")
        for flag in document["flagged"]:
            self.stderr.write(f"secrets_policy: {flag['secret']} may be read by {flag['reader']}: {flag['problem']}")
        if document["flagged"]:
            raise SystemExit(1)
