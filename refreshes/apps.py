from django.apps import AppConfig


class RefreshesConfig(AppConfig):
    name = "refreshes"
    verbose_name = "Environment data"
