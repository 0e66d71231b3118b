from django.apps import AppConfig


class RefreshesConfig(AppConfig):
    name = "refreshes"
    verbose_name = "Environment data"

    def ready(self):
        from core.dashboard import register_section
        from refreshes.dashboard import data_lines

        register_section("data", order=30, lines=data_lines)
