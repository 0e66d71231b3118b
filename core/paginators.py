"""A paginator for tables of a year of rows: no exact COUNT over them, no fetching of the rows a deep page skips."""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this many rows (by the planner's estimate) an exact count is cheap enough, and exact.
EXACT_BELOW = 50_000
# From this offset on, a page first picks its ids from the index, then loads those rows only.
DEEP_OFFSET = 10_000


class EstimatedCountPaginator(Paginator):
    """Counts by the planner's estimate once a list is large: pg_class.reltuples for the whole table (kept close
    by autovacuum's ANALYZE), the plan's row estimate for a filtered list. The page links are then approximate:
    the last page may hold a few rows more or less than they say. Small lists are counted exactly.
    """

    @cached_property
    def count(self):
        queryset = self.object_list
        if getattr(queryset, "query", None) is None or connections[queryset.db].vendor != "postgresql":
            return super().count
        query = queryset.query
        if query.where or query.distinct or query.combinator:
            estimate = plan_estimate(queryset)
        else:
            estimate = table_estimate(queryset.db, queryset.model._meta.db_table)
        return estimate if estimate >= EXACT_BELOW else super().count

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(self._slice(bottom, top), number, self)

    def _slice(self, bottom, top):
        queryset = self.object_list
        if bottom < DEEP_OFFSET or getattr(queryset, "query", None) is None:
            return queryset[bottom:top]
        # The skipped rows are read from the index only (the order's index holds the id), not from the table.
        ids = list(queryset.values_list("pk", flat=True)[bottom:top])
        return queryset.filter(pk__in=ids)


def table_estimate(alias, table):
    """The planner's row count of `table`, or -1 when it has none (never analysed)."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return row[0] if row and row[0] is not None else -1


def plan_estimate(queryset):
    """The planner's estimate of the rows `queryset` returns (EXPLAIN, nothing executed)."""
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])
