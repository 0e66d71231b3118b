from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self):
        from core.dashboard import register_section
        from monitoring.dashboard import alert_lines

        register_section("monitoring", order=40, lines=alert_lines)
