from django.apps import AppConfig


class SecretsRegistryConfig(AppConfig):
    name = "secrets_registry"
    verbose_name = "Secrets"

    def ready(self):
        from core.dashboard import register_section
        from secrets_registry.dashboard import secret_lines

        register_section("secrets", order=45, lines=secret_lines)
        from secrets_registry import checklist

        checklist.register()
        from core import webhook_secrets
        from secrets_registry import webhook_source

        # The console's own webhook secrets are read from the manager when a reference rotates them.
        webhook_secrets.set_source(webhook_source.values)
        # secrets_registry.tasks is not imported here: core.tasks.enqueue loads the tasks modules on the first
        # lookup of a name it does not know, as a worker does, and start-up stays light (tests/test_startup.py).
