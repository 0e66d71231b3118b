"""The secrets registry's front door: what other apps may use. Nothing else is imported across apps."""

from secrets_registry.services import VariableSecrets, check_environment_secrets


def required_secrets_present(environment) -> tuple[bool, str]:
    """The production checklist's "Required variables and secrets present": every §7 variable resolves to a
    reference that exists in the manager with a current version. Reads no value."""
    report = check_environment_secrets(environment)
    if report.passed:
        return True, f"{len(report.ok)} variables resolve to secrets present in the manager"
    return False, "; ".join(report.missing)[:500]


__all__ = ["VariableSecrets", "check_environment_secrets", "required_secrets_present"]
