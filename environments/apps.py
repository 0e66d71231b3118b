from django.apps import AppConfig


class EnvironmentsConfig(AppConfig):
    name = "environments"
    verbose_name = "Environments"

    def ready(self):
        from core.dashboard import register_section, register_subjects
        from environments.dashboard import environment_lines
        from environments.models import Environment

        register_subjects(lambda: Environment.objects.order_by("order"))
        register_section("environment", order=0, lines=environment_lines)
