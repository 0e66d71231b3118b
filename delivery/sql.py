"""Portable SQL pieces: durations and percentiles that run on PostgreSQL and on SQLite (`make run`)."""

from collections import defaultdict

from django.db import connection
from django.db.models import FloatField, Func, IntegerField

PERCENTS = (50, 90)
WEEK_SECONDS = 7 * 24 * 3600


class Seconds(Func):
    """Seconds from the second expression to the first, as a float (PostgreSQL's date_part is a double precision,
    where EXTRACT gives a slower numeric)."""

    arity = 2
    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="date_part('epoch', %(expressions)s)", arg_joiner=" - ")

    def as_sqlite(self, compiler, connection, **extra):
        # Django keeps SQLite datetimes as UTC text, which julianday() reads.
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s)) * 86400.0)", arg_joiner=") - julianday("
        )


class WholeWeeks(Func):
    """How many whole weeks a number of seconds (never negative here) makes: 0 for the last 7 days."""

    arity = 1
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template=f"FLOOR((%(expressions)s) / {WEEK_SECONDS})")

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template=f"CAST((%(expressions)s) / {WEEK_SECONDS} AS INTEGER)")


def seconds_sql(end, start):
    """Seconds_between two SQL expressions, for SQL written by hand (same arithmetic as Seconds)."""
    if connection.vendor == "postgresql":
        return f"date_part('epoch', {end} - {start})"
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def percentiles(samples, *, grouped=False):
    """{group: (count, {50: median, 90: p90})} of column `v` of `samples` (and `grp` if grouped).

    `samples` is a queryset, or (sql, params).

    percentile_cont without percentile_cont: PostgreSQL has the aggregate, SQLite does not, so both rank the
    values with ROW_NUMBER() (window functions: PostgreSQL, SQLite >= 3.25) and return only the rows on either
    side of each percentile's position, (n - 1) * p / 100; Python interpolates between those two, exactly as
    percentile_cont does. At most four rows per group leave the database, however many samples there are.
    """
    if isinstance(samples, tuple):
        inner, params = samples  # (sql, params) written by hand
    else:
        inner, params = samples.order_by().query.sql_with_params()
    part = "PARTITION BY grp " if grouped else ""
    grp = "grp, " if grouped else ""
    wanted = " OR ".join(f"(rn - 1) IN (((n - 1) * {p}) / 100, ((n - 1) * {p} + 99) / 100)" for p in PERCENTS)
    sql = (
        f"SELECT {grp}rn, n, v FROM (SELECT {grp}v, ROW_NUMBER() OVER ({part}ORDER BY v) AS rn, "  # noqa: S608 - only our constants and the compiled, parametrised queryset
        f"COUNT(*) OVER ({part.strip()}) AS n FROM ({inner}) samples) ranked WHERE {wanted}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    ranked, counts = defaultdict(dict), {}
    for row in rows:
        group = int(row[0]) if grouped else None
        rn, n, v = row[-3:]
        ranked[group][int(rn)] = float(v)
        counts[group] = int(n)
    result = {}
    for group, values in ranked.items():
        n, found = counts[group], {}
        for p in PERCENTS:
            lo, hi = ((n - 1) * p) // 100, ((n - 1) * p + 99) // 100
            fraction = ((n - 1) * p - lo * 100) / 100
            found[p] = values[lo + 1] + (values[hi + 1] - values[lo + 1]) * fraction
        result[group] = (n, found)
    return result
