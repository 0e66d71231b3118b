"""Evaluate the checklist item "Database migrations tested" when a deployment is created."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from deployments.models import DeploymentEvent

ITEM_KEY = "migrations_tested"


@receiver(post_save, sender=DeploymentEvent, dispatch_uid="migrations_log_checklist")
def tick_migrations_tested(sender, instance, created, **kwargs):
    # The deployment's "Created" note is written after its checklist rows exist, before the engine starts.
    if not created or instance.kind != "note" or not instance.detail.startswith("Created:"):
        return
    from deployments.choices import Actor
    from deployments.models import DeploymentChecklistItem
    from deployments.services import check_item
    from migrations_log.models import ReleaseMigration
    from migrations_log.services import migrations_tested

    deployment = instance.deployment
    if not DeploymentChecklistItem.objects.filter(deployment=deployment, item__key=ITEM_KEY).exists():
        return
    if not ReleaseMigration.objects.filter(release_id=deployment.release_id).exists():
        return  # no migrations registered for this release: the console cannot vouch for them
    if migrations_tested(release=deployment.release, environment=deployment.environment):
        check_item(deployment_id=deployment.pk, item_key=ITEM_KEY, actor=Actor.ENGINE)
