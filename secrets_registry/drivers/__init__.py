"""Secret managers the console talks to: one module per backend, imported only when first used."""

from core.drivers import Registry
from secrets_registry import conf

managers = Registry("secret manager", {"aws": "secrets_registry.drivers.aws.AwsSecretsManager"})


def manager(kind: str | None = None, *, region: str | None = None):
    """The configured secret manager driver (OPS_SECRETS_DRIVER, default aws), for `region` (default the
    configured one)."""
    return managers.get(kind or conf.driver())(region=region)
