"""The secrets registry's front door: what other apps may use. Nothing else is imported across apps.

The services load on first use (module __getattr__), not when another app's checklist or admin imports this
module at start-up (tests/test_startup.py).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from secrets_registry.services import VariableSecrets, check_environment_secrets


def required_secrets_present(environment) -> tuple[bool, str]:
    """The production checklist's "Required variables and secrets present": every §7 variable resolves to a
    reference that exists in the manager with a current version. Reads no value."""
    from secrets_registry.services import check_environment_secrets

    report = check_environment_secrets(environment)
    if report.passed:
        return True, f"{len(report.ok)} variables resolve to secrets present in the manager"
    return False, "; ".join(report.missing)[:500]


def __getattr__(name):
    if name in {"VariableSecrets", "check_environment_secrets"}:
        from secrets_registry import services

        return getattr(services, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["VariableSecrets", "check_environment_secrets", "required_secrets_present"]
