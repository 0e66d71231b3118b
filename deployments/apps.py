from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "deployments"
    verbose_name = "Deployments"

    def ready(self):
        from core.dashboard import register_section
        from deployments import gates
        from deployments.dashboard import deployment_lines

        gates.register()
        from retention.public import register_rollup

        register_rollup("deployments.MetricSample", "deployments.rollups.MetricSampleRollup")
        from deployments.signals import deployment_rolled_back

        deployment_rolled_back.connect(_resolve_journey_alerts, dispatch_uid="postdeploy.resolve_journey_alerts")
        register_section("deployments", order=10, lines=deployment_lines)


def _resolve_journey_alerts(sender, deployment_id, **kwargs):
    # The service loads when a rollback happens, not at start-up (tests/test_startup.py).
    from deployments.postdeploy.services import on_rolled_back

    on_rolled_back(sender, deployment_id=deployment_id, **kwargs)
