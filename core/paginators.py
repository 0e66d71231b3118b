"""A paginator that does not count a year of rows to draw the page links."""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this many rows (by the planner's estimate) an exact count is cheap enough.
EXACT_BELOW = 50_000


class EstimatedCountPaginator(Paginator):
    """An unfiltered list counts by the planner's row estimate (pg_class.reltuples); a filtered list exactly.

    The estimate follows ANALYZE (autovacuum keeps it close): the last page may hold a few rows more or less.
    """

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if query is None or query.where or query.distinct or query.combinator:
            return super().count
        estimate = table_estimate(self.object_list.db, self.object_list.model._meta.db_table)
        return estimate if estimate >= EXACT_BELOW else super().count


def table_estimate(alias, table):
    """The planner's row count of `table`, or -1 when it has none (never analysed) or the database is not PostgreSQL."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return -1
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return row[0] if row and row[0] is not None else -1
