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
        from deployments.postdeploy.services import on_rolled_back
        from deployments.signals import deployment_rolled_back

        deployment_rolled_back.connect(on_rolled_back, dispatch_uid="postdeploy.resolve_journey_alerts")
        register_section("deployments", order=10, lines=deployment_lines)
