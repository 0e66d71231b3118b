"""Settings of the secrets registry, with their defaults. No secret value is ever a setting of the console:
AWS credentials come from boto3's own chain (instance role, environment), admin database URLs from the
worker's environment under the variable name a reference gives."""

from django.conf import settings


def driver():
    return getattr(settings, "OPS_SECRETS_DRIVER", "aws")


def endpoint_url():
    """Empty: AWS's own endpoint for the region. The tests point it at moto's server."""
    return getattr(settings, "OPS_SECRETS_ENDPOINT_URL", "") or None


def region():
    return getattr(settings, "OPS_SECRETS_REGION", "eu-west-1")


def dr_region():
    """§9 "secrets backed up separately": every reference must have a replica here."""
    return getattr(settings, "OPS_SECRETS_DR_REGION", "eu-central-1")


def account_id():
    """For the ARNs of references not yet seen in the manager; '*' until set."""
    return getattr(settings, "OPS_SECRETS_ACCOUNT_ID", "") or "*"


def rotation_days():
    return getattr(settings, "OPS_SECRETS_ROTATION_DAYS", 90)


def stale_after():
    """Seconds without a heartbeat after which a running rotation's worker is taken for dead and resumed."""
    return getattr(settings, "OPS_SECRETS_STALE_AFTER", 300)


def name_for(environment_key: str, variable: str) -> str:
    return f"amarise/{environment_key}/{variable}"
