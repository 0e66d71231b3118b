import time

from django.core.management.base import BaseCommand, CommandError

from deployments import services
from deployments.choices import Actor, DeploymentStatus
from deployments.exceptions import DeploymentRefused
from deployments.models import Deployment


class Command(BaseCommand):
    help = (
        "Switch a succeeded deployment back to its standby slot (which still holds the previous release): "
        "queued on the `deployments` queue; --wait follows it until the load balancer shows the weights."
    )

    def add_arguments(self, parser):
        parser.add_argument("deployment", type=int, help="The deployment's id")
        parser.add_argument("--reason", required=True, help="Kept in the timeline and the incident")
        parser.add_argument("--wait", type=float, default=0, metavar="SECONDS", help="Wait up to this long for it")

    def handle(self, *args, deployment, reason, wait, **options):
        if not Deployment.objects.filter(pk=deployment).exists():
            raise CommandError(f"No deployment #{deployment}.")
        try:
            found = services.switch_back(deployment_id=deployment, user=None, reason=reason, actor=Actor.PERSON)
        except DeploymentRefused as exc:
            raise CommandError(f"Refused: {exc} Nothing was changed.") from None
        self.stdout.write(f"Switch back of deployment #{found.pk} queued: traffic goes to {found.from_slot.color}.")
        deadline = time.monotonic() + wait
        while wait and time.monotonic() < deadline:
            found.refresh_from_db()
            if found.status in {DeploymentStatus.ROLLED_BACK, DeploymentStatus.FAILED}:
                break
            time.sleep(0.2)  # sleep-ok: polling the row a worker updates
        if wait:
            found.refresh_from_db()
            self.stdout.write(f"Deployment #{found.pk}: {found.get_status_display().lower()}.")
