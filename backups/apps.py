from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "backups"
    verbose_name = "Backups and recovery"

    def ready(self):
        from backups.dashboard import backup_lines
        from core.dashboard import register_section

        register_section("backups", order=40, lines=backup_lines)
