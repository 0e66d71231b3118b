from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self):
        from core.dashboard import register_section
        from monitoring.dashboard import alert_lines

        register_section("monitoring", order=40, lines=alert_lines)
        # Registered by name in every process (web included), so core.tasks.enqueue finds them.
        import monitoring.tasks  # noqa: F401
