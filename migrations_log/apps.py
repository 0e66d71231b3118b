from django.apps import AppConfig


class MigrationsLogConfig(AppConfig):
    name = "migrations_log"
    verbose_name = "Migrations log"

    def ready(self):
        from core.dashboard import register_section
        from migrations_log import checklist, steps
        from migrations_log.dashboard import migration_lines

        steps.register()
        checklist.register()
        register_section("migrations", order=30, lines=migration_lines)
