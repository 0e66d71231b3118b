from refreshes.pg import Dsn


class Source:
    """Copies production into an empty scratch database. Must never write to production."""

    kind = ""

    def __init__(self, production: Dsn):
        self.production = production

    def copy_into(self, scratch: Dsn) -> str:
        """Fill `scratch` (which exists and is empty); returns a short description of what was copied."""
        raise NotImplementedError
