from core.status import InvalidTransition


class MonitoringRefused(Exception):
    """A change the monitoring app refuses; the message says why, and nothing was changed."""


class ConfigRefused(MonitoringRefused):
    """Generated configuration that would be wrong (a structural value, or promtool/amtool said no)."""


class PayloadInvalid(MonitoringRefused):
    """An Alertmanager webhook body that is not a version 4 notification."""


class AlertInvalidTransition(InvalidTransition):
    pass


class EngineUnavailable(Exception):
    """Prometheus or Alertmanager did not answer (transient)."""
