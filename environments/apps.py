from django.apps import AppConfig


class EnvironmentsConfig(AppConfig):
    name = "environments"
    verbose_name = "Environments"

    def ready(self):
        from core.dashboard import register_attention, register_section, register_subjects
        from environments.dashboard import alert_items, deployment_items, down_items, environment_lines
        from environments.models import Environment

        # Production first; a developer's machine (not probed) weighs least.
        register_subjects(lambda: Environment.objects.order_by("-order"), quiet=lambda env: env.key == "local")
        register_section("environment", order=0, lines=environment_lines)
        register_attention("down", order=0, items=down_items)
        register_attention("alerts", order=10, items=alert_items)
        register_attention("deployments", order=20, items=deployment_items)
