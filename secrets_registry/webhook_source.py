"""Where the console reads its own webhook secrets when a reference of target CONSOLE_WEBHOOK manages them:
the secret manager, at use. The current version is accepted always; the pending version only once the
rotation's set step has labelled it ACCEPTING, and no longer once finish has moved AWSCURRENT.

Plugged into core.webhook_secrets when the app is ready. Values stay in this process's memory, keyed by their
version id (a version's value never changes): never in the database, the cache server or a log.
"""

import logging

from secrets_registry import conf
from secrets_registry.choices import CONSOLE_WEBHOOK_VARIABLES, RotationTarget
from secrets_registry.drivers import manager as default_manager

logger = logging.getLogger(__name__)
ACCEPTING = "OPS_ACCEPTED"  # custom staging label: the console accepts this pending version
_MAX_VALUES = 32
_values: dict[tuple[str, str], str] = {}
_managers: dict[tuple[str, str | None], object] = {}


def _manager(region):
    key = (region, conf.endpoint_url())
    if key not in _managers:
        _managers[key] = default_manager(region=region)
    return _managers[key]


def _value(manager, name, version_id):
    key = (name, version_id)
    if key not in _values:
        if len(_values) >= _MAX_VALUES:
            _values.clear()
        _values[key] = manager.get_value(name, version_id=version_id)[0]
    return _values[key]


def accepted_version_ids(description) -> list[str]:
    """AWSCURRENT, then AWSPENDING while it carries the ACCEPTING label (the overlap)."""
    ids = [description.current_version_id] if description.current_version_id else []
    pending = description.pending_version_id
    if pending and ACCEPTING in description.versions[pending]:
        ids.append(pending)
    return ids


def values(variable: str) -> list[str] | None:
    """core.webhook_secrets' source: None when no reference manages `variable` (the environment then holds it);
    [] when the manager cannot be read, so that nothing is accepted rather than a value already rotated away."""
    if variable not in CONSOLE_WEBHOOK_VARIABLES:
        return None
    from secrets_registry.models import SecretReference

    found = (SecretReference.objects.filter(rotation_target=RotationTarget.CONSOLE_WEBHOOK, variable=variable)
             .values_list("name", "region").first())  # fmt: skip
    if found is None:
        return None
    name, region = found
    try:
        manager = _manager(region)
        return [_value(manager, name, vid) for vid in accepted_version_ids(manager.describe(name))]
    except Exception as exc:  # noqa: BLE001 - a message could quote a value: only the type is logged
        logger.warning("webhook secret %s not read from the manager: %s", name, type(exc).__name__)
        return []
