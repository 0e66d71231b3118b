from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        from core.dashboard import register_attention, register_section
        from deployments.public import deployment_rolled_back
        from incidents.dashboard import incident_items, incident_lines

        deployment_rolled_back.connect(_open_incident_on_rollback, dispatch_uid="incidents.open_on_rollback")
        register_section("incidents", order=20, lines=incident_lines)
        register_attention("incidents", order=30, items=incident_items)


def _open_incident_on_rollback(sender, deployment_id, **kwargs):
    # The service loads when a rollback happens, not at start-up (tests/test_startup.py).
    from incidents.services import open_incident_on_rollback

    open_incident_on_rollback(sender, deployment_id=deployment_id, **kwargs)
