from django.core.management.base import BaseCommand, CommandError

from deployments.choices import DeploymentStatus
from deployments.models import Deployment
from deployments.postdeploy import notify, services


class Command(BaseCommand):
    help = (
        "Run the post-deployment checks (journeys, performance, status page, stakeholders) now, as beat does every "
        "5 minutes during a bake period: for one deployment, or for every deployment in (or just past) one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deployment", type=int, help="A succeeded deployment's id.")
        parser.add_argument(
            "--resend", action="store_true", help="Also send again the release notifications that failed."
        )

    def handle(self, *args, deployment=None, resend=False, **options):
        if deployment is not None:
            found = Deployment.objects.filter(pk=deployment).first()
            if found is None:
                raise CommandError(f"No deployment #{deployment}.")
            if found.status != DeploymentStatus.SUCCEEDED:
                raise CommandError(
                    f"Deployment #{deployment} is {found.get_status_display().lower()}: the "
                    "post-deployment checks run on a succeeded deployment."
                )
            ids = [deployment]
        else:
            ids = services.due_deployment_ids()
        for deployment_id in ids:
            if resend:
                notify.queue_notifications(Deployment.objects.get(pk=deployment_id), retry_failed=True)
            self.stdout.write(f"#{deployment_id}: {services.run_round(deployment_id, force=True)}")
        self.stdout.write(self.style.SUCCESS(f"{len(ids)} deployment(s) checked."))
