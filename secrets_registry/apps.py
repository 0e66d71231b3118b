from django.apps import AppConfig


class SecretsRegistryConfig(AppConfig):
    name = "secrets_registry"
    verbose_name = "Secrets"

    def ready(self):
        from core.dashboard import register_section
        from secrets_registry.dashboard import secret_lines

        register_section("secrets", order=45, lines=secret_lines)
