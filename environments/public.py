"""The environments app's front door: what other apps may use. Nothing else is imported across apps."""

from environments.choices import EmailMode, EnvironmentKey, HealthStatus
from environments.dashboard import age_text
from environments.models import Environment
from environments.panels import register_panel

__all__ = ["EmailMode", "Environment", "EnvironmentKey", "HealthStatus", "age_text", "register_panel"]
