from refreshes.drivers.base import Source, dump_into


class PgDumpSource(Source):
    """pg_dump of production, read-only, streamed straight into pg_restore on the scratch database."""

    kind = "pg_dump"

    def copy_into(self, scratch) -> str:
        # default_transaction_read_only: the dump cannot write to production even by mistake.
        dump_into(self.production, scratch, what=f"production ({self.production})")
        return f"pg_dump of {self.production} restored into {scratch.dbname}"
