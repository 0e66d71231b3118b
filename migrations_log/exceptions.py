import core.status


class MigrationRefused(Exception):
    """Bad input or a broken §6 rule; nothing was changed. The message says why, naming what."""


class InvalidTransition(MigrationRefused, core.status.InvalidTransition):
    """A migration run asked to move where its map does not allow; nothing was changed."""
