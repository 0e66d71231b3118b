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
        # monitoring.tasks is not imported here: core.tasks.enqueue loads the tasks modules on the first lookup
        # of a name it does not know, as a worker does, and start-up stays light (tests/test_startup.py).
