from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "backups"
    verbose_name = "Backups and recovery"

    def ready(self):
        from backups.dashboard import backup_lines
        from core.dashboard import register_section
        from retention.public import register_rollup

        register_section("backups", order=40, lines=backup_lines)
        register_rollup("backups.RpoCheck", "backups.rollups.RpoCheckRollup")
