from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        from core.dashboard import register_section
        from deployments.signals import deployment_rolled_back
        from incidents.dashboard import incident_lines
        from incidents.receivers import on_deployment_rolled_back

        deployment_rolled_back.connect(on_deployment_rolled_back, dispatch_uid="incidents.open_on_rollback")
        register_section("incidents", order=20, lines=incident_lines)
