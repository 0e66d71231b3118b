from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self):
        from core.dashboard import register_section
        from environments.public import register_panel
        from monitoring.dashboard import alert_lines, environment_panel

        register_section("monitoring", order=40, lines=alert_lines)
        register_panel("Monitoring", environment_panel)
        # Registered by name in every process (web included), so core.tasks.enqueue finds them.
        import monitoring.tasks  # noqa: F401
