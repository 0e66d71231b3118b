"""Settings of the backups app, with their defaults. Secrets (the repository passphrase) come from the process
environment only, under the variable the protected database names."""

from django.conf import settings


def rpo_check_interval():
    """Seconds between RPO checks on beat: an archiving failure is alerted within one interval."""
    return getattr(settings, "OPS_BACKUPS_RPO_CHECK_INTERVAL", 60)


def reconcile_interval():
    return getattr(settings, "OPS_BACKUPS_RECONCILE_INTERVAL", 60)


def stale_after():
    """Seconds without a heartbeat after which a running backup's worker is taken for dead."""
    return getattr(settings, "OPS_BACKUPS_STALE_AFTER", 300)


def pgbackrest_bin():
    return getattr(settings, "OPS_BACKUPS_PGBACKREST", "/usr/bin/pgbackrest")


def command_timeout():
    """Seconds one pgBackRest command may take before it is stopped and the run failed."""
    return getattr(settings, "OPS_BACKUPS_COMMAND_TIMEOUT", 6 * 60 * 60)


def drill_start_timeout():
    return getattr(settings, "OPS_BACKUPS_DRILL_START_TIMEOUT", 15 * 60)
