from django.core.management.base import BaseCommand, CommandError

from environments.choices import EnvironmentKey
from environments.models import Environment
from environments.services import probe_environment


class Command(BaseCommand):
    help = (
        "Probe environments' health URLs now, in this process, as beat does: a down probe raises the "
        "EnvironmentDown alert and an up probe resolves it. Exits 1 when a probed environment is down."
    )

    def add_arguments(self, parser):
        parser.add_argument("environments", nargs="*", help="Environment keys; all with health checks on if none.")

    def handle(self, *args, environments, **options):
        unknown = sorted(set(environments) - set(EnvironmentKey.values))
        if unknown:
            raise CommandError(f"Unknown environment {', '.join(unknown)}: use {', '.join(EnvironmentKey.values)}.")
        targets = Environment.objects.order_by("order")
        if environments:
            targets = targets.filter(key__in=environments)
            off = [e.key for e in targets if not e.health_check_enabled]
            if off:
                raise CommandError(f"Health checks are off for {', '.join(off)}: turn them on in the environment.")
        else:
            targets = targets.filter(health_check_enabled=True)
        if not targets:
            raise CommandError("No environment to probe: run `manage.py seed_strategy`.")
        down = []
        for environment in targets:
            check = probe_environment(environment.pk)
            self.stdout.write(f"{environment.key}: {check.status} ({check.detail})")
            if check.status != "up":
                down.append(environment.key)
        if down:
            raise CommandError(f"Down: {', '.join(down)}")
