from django.db import transaction


def on_deployment_rolled_back(sender, deployment_id, **kwargs):
    """The engine's transaction has committed; open the incident in its own task, away from the engine."""
    from incidents.tasks import open_incident_for_rollback

    transaction.on_commit(lambda: open_incident_for_rollback.delay(deployment_id))
