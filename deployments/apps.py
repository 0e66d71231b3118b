from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "deployments"
    verbose_name = "Deployments"

    def ready(self):
        from core.dashboard import register_section
        from deployments import gates
        from deployments.dashboard import deployment_lines

        gates.register()
        register_section("deployments", order=10, lines=deployment_lines)
