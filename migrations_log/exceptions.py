class MigrationRefused(Exception):
    """Bad input or a broken §6 rule; nothing was changed. The message says why, naming what."""
