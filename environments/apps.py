from django.apps import AppConfig


class EnvironmentsConfig(AppConfig):
    name = "environments"
    verbose_name = "Environments"

    def ready(self):
        from core.dashboard import register_section
        from environments.dashboard import environment_lines

        register_section("environment", order=0, lines=environment_lines)
