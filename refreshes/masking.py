"""Masking inside the scratch database: set-based SQL, one UPDATE per table (tables in parallel), keyed by an HMAC key.

No row ever travels to Python. The key is bound as a parameter (never in the statement text), pgcrypto
computes the HMACs, and dictionary picks are index lookups in small tables.
"""

from concurrent.futures import ThreadPoolExecutor
from graphlib import TopologicalSorter

import psycopg
from psycopg import sql

from refreshes import dictionaries
from refreshes.choices import PERSONAL_STRATEGIES, Strategy
from refreshes.exceptions import FailClosed
from refreshes.models import looks_personal
from refreshes.schema import NOT_SYSTEM, WORK_SCHEMA

WORK = WORK_SCHEMA  # schema of the console's working tables inside the scratch copy
NAME_DICTIONARIES = {"first_name", "last_name", "name"}
EMAIL_RE = r"[[:alnum:]._+-]+@[[:alnum:].-]+\.[[:alpha:]]{2,}"
PHONE_RE = r"\+?[0-9][0-9 .()-]{6,}[0-9]"


def _hmac(expr):
    return sql.SQL("hmac({}::text, %(key)s, 'sha256')").format(expr)


def _hmac_int(expr):
    # The first 32 bits of the HMAC as a non-negative integer.
    return sql.SQL("('x' || encode(substring({} from 1 for 4), 'hex'))::bit(32)::bigint").format(_hmac(expr))


def _scrub(col):
    """Emails and phones replaced by pattern, then words that are production names (capitalised) by [name].

    Written into the UPDATE rather than called as a function: a SQL function with a sub-select is not
    inlined, and its per-call overhead would dominate. Text with no capital, digit or @ is left as it is.
    """
    return sql.SQL(
        """CASE WHEN {col} IS NULL THEN NULL WHEN {col} !~ '[[:upper:]@0-9]' THEN {col} ELSE coalesce((
            SELECT string_agg(
                     CASE WHEN s.w ~ '^[[:upper:]]' AND EXISTS (
                            SELECT 1 FROM {names} n WHERE n.word = regexp_replace(s.w, '[^[:alnum:]]+$', ''))
                          THEN '[name]' || substring(s.w from '[^[:alnum:]]*$')
                          ELSE s.w END, ' ' ORDER BY s.o)
            FROM regexp_split_to_table(
                   regexp_replace(regexp_replace({col}, {email}, '[email]', 'g'), {phone}, '[phone]', 'g'),
                   '\\s+') WITH ORDINALITY AS s(w, o)), '') END"""
    ).format(col=col, names=sql.Identifier(WORK, "names"), email=sql.Literal(EMAIL_RE), phone=sql.Literal(PHONE_RE))


def expression(rule, column) -> sql.Composable | None:
    """The SQL a column is set to; None for `keep`."""
    col = sql.Identifier(column.column)
    params = rule.params or {}
    strategy = rule.strategy
    if strategy == Strategy.KEEP:
        return None
    if strategy == Strategy.NULL:
        return sql.SQL("NULL")
    if strategy == Strategy.PSEUDONYM:
        length = int(params.get("length", 16))
        return sql.SQL("left(encode({}, 'hex'), {})").format(_hmac(col), sql.Literal(length))
    if strategy == Strategy.EMAIL:
        domain = params.get("domain", "masked")
        return sql.SQL("left(encode({}, 'hex'), 16) || {}").format(
            _hmac(sql.SQL("lower({})").format(col)), sql.Literal(f"@{domain}.invalid")
        )
    if strategy == Strategy.PHONE:
        return sql.SQL("'+1 555 ' || lpad(mod({}, 10000000)::text, 7, '0')").format(_hmac_int(col))
    if strategy == Strategy.FAKE:
        # The dictionary as an array constant in the statement: folded once at planning, no lookup per row.
        words = dictionaries.values(params["dictionary"])
        array = sql.SQL("(ARRAY[{}]::text[])").format(sql.SQL(",").join(sql.Literal(w) for w in words))
        return sql.SQL("{}[1 + mod({}, {})]").format(array, _hmac_int(col), sql.Literal(len(words)))
    if strategy == Strategy.DATE_SHIFT:
        days = int(params.get("days", 30))
        offset = sql.SQL("(mod({}, {}) - {})").format(_hmac_int(col), sql.Literal(2 * days + 1), sql.Literal(days))
        if column.data_type == "date":
            return sql.SQL("{} + {}::int").format(col, offset)
        return sql.SQL("{} + {} * interval '1 day'").format(col, offset)
    if strategy == Strategy.SCRUB:
        return _scrub(col)
    raise ValueError(f"no expression for strategy {strategy!r}")


def masking_statements(rules, columns):
    """(truncate, updates): one TRUNCATE of the emptied tables (or None), and one ("schema.table", UPDATE) per
    masked table, whatever its schema."""
    by_key = {r.key: r for r in rules}
    present = {c.table_key for c in columns}
    emptied = sorted({r.table_key for r in rules if r.strategy == Strategy.TRUNCATE} & present)
    truncate = None
    if emptied:
        statement = sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(*key) for key in emptied))
        truncate = (",".join(".".join(key) for key in emptied), statement)
    sets: dict[tuple, list] = {}
    for column in columns:
        if column.table_key in emptied or column.console_owned:
            continue
        rule = by_key.get((column.schema, column.table, column.column))
        expr = expression(rule, column) if rule else None
        if expr is not None:
            sets.setdefault(column.table_key, []).append(sql.SQL("{} = {}").format(sql.Identifier(column.column), expr))
    updates = [
        (".".join(key), sql.SQL("UPDATE {} SET {}").format(sql.Identifier(*key), sql.SQL(", ").join(assignments)))
        for key, assignments in sets.items()
    ]
    return truncate, updates


def prepare(conn):
    """The working schema: pgcrypto, the dictionaries, the names the scrub looks for. Safe to run again."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(WORK)))
    for name in dictionaries.DICTIONARIES:
        table = sql.Identifier(WORK, f"dict_{name}")
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        conn.execute(sql.SQL("CREATE TABLE {} (idx int PRIMARY KEY, value text NOT NULL)").format(table))
        with conn.cursor().copy(sql.SQL("COPY {} (idx, value) FROM STDIN").format(table)) as copy:
            for idx, value in enumerate(dictionaries.values(name)):
                copy.write_row((idx, value))
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (word text PRIMARY KEY)").format(sql.Identifier(WORK, "names")))


def capture_production_values(conn, rules, columns, *, min_length: int) -> int:
    """Before masking: the SHA-256 of every production value ruled personal, for the leak scan and the scrub.

    Only digests are kept (and names, which the scrub must recognise); the scratch copy is dropped anyway.
    Values the dictionaries hold are public fakes, so they are left out.
    """
    by_key = {r.key: r for r in rules}
    emptied = {r.table_key for r in rules if r.strategy == Strategy.TRUNCATE}
    values = sql.Identifier(WORK, "prod_values")
    names = sql.Identifier(WORK, "names")
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(values))
    conn.execute(sql.SQL("CREATE TABLE {} (h bytea)").format(values))
    conn.execute(sql.SQL("TRUNCATE {}").format(names))
    for column in columns:
        rule = by_key.get((column.schema, column.table, column.column))
        personal = (rule is not None and rule.strategy in PERSONAL_STRATEGIES) or (
            column.table_key in emptied and looks_personal(column.column)
        )
        if not personal or column.data_type not in {"text", "character varying", "character", "citext", "inet"}:
            continue
        col, table = sql.Identifier(column.column), sql.Identifier(column.schema, column.table)
        as_text = sql.SQL("host({})").format(col) if column.data_type == "inet" else sql.SQL("{}::text").format(col)
        conn.execute(
            sql.SQL("INSERT INTO {} SELECT DISTINCT digest({}, 'sha256') FROM {} WHERE length({}) >= {}").format(
                values, as_text, table, as_text, sql.Literal(min_length)
            )
        )
        if rule is not None and rule.strategy == Strategy.FAKE and rule.params.get("dictionary") in NAME_DICTIONARIES:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} SELECT DISTINCT w FROM {}, regexp_split_to_table({}, '\\s+') w "
                    "WHERE length(w) >= 2 ON CONFLICT DO NOTHING"
                ).format(names, table, col)
            )
    public = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT digest(value, 'sha256') FROM {}").format(sql.Identifier(WORK, f"dict_{name}"))
        for name in dictionaries.DICTIONARIES
    )
    conn.execute(sql.SQL("DELETE FROM {} WHERE h IN ({})").format(values, public))
    conn.execute(sql.SQL("CREATE INDEX ON {} USING hash (h)").format(values))
    conn.execute(sql.SQL("ANALYZE {}").format(values))
    return watched(conn)


def _exists(conn, table) -> bool:
    return conn.execute("SELECT to_regclass(%s)", [f"{WORK}.{table}"]).fetchone()[0] is not None


def is_captured(conn) -> bool:
    """The production values are captured once: after a crash mid-masking they would be masked ones."""
    return _exists(conn, "prod_values")


def apply(connect, rules, columns, *, key: str, parallel: int = 1) -> dict:
    """Run the masking statements, `parallel` at a time on connections from `connect()`; rows touched per table.

    Each statement commits on its own, with its table's marker row in the same transaction: a retried step
    skips what committed and never masks a table twice. The TRUNCATE runs first and alone (it locks what it
    empties); then the largest tables first, so that the connections finish together.
    """
    done = sql.Identifier(WORK, "masked_tables")
    with connect() as conn:
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, rows bigint)").format(done))
        conn.commit()
        sizes = dict(
            conn.execute(
                "SELECT n.nspname || '.' || c.relname, c.reltuples FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
            ).fetchall()
        )

    def run(item):
        name, statement = item
        with connect() as conn, conn.transaction():
            row = conn.execute(sql.SQL("SELECT rows FROM {} WHERE name = %s").format(done), [name]).fetchone()
            if row is not None:
                return name, row[0]
            cursor = conn.execute(statement, {"key": key})
            rows = max(cursor.rowcount, 0)
            conn.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(done), [name, rows])
            return name, rows

    truncate, updates = masking_statements(rules, columns)
    touched = dict([run(truncate)]) if truncate else {}
    updates.sort(key=lambda item: -sizes.get(item[0], 0))
    if parallel <= 1 or len(updates) <= 1:
        touched.update(map(run, updates))
    else:
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="mask") as pool:
            touched.update(pool.map(run, updates))
    return touched


# Which materialized views each one reads, directly or through plain views (pg_depend of their rewrite rules).
_MATVIEW_READS = """
WITH RECURSIVE reads(mv, rel) AS (
    SELECT r.ev_class, d.refobjid FROM pg_rewrite r
    JOIN pg_class m ON m.oid = r.ev_class AND m.relkind = 'm'
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
    WHERE d.refobjid <> r.ev_class
  UNION
    SELECT reads.mv, d.refobjid FROM reads
    JOIN pg_class v ON v.oid = reads.rel AND v.relkind = 'v'
    JOIN pg_rewrite r ON r.ev_class = v.oid
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
    WHERE d.refobjid <> v.oid
)
SELECT reads.mv, reads.rel FROM reads
JOIN pg_class c ON c.oid = reads.rel AND c.relkind = 'm' WHERE reads.mv <> reads.rel
"""


def refresh_materialized_views(conn) -> list[str]:
    """Rebuild every populated materialized view, in every schema, from the masked tables; those read first.

    pg_restore filled them from the rows as they were restored, before masking: left alone they would carry
    production's values into staging. One that cannot be rebuilt fails the step, closed, naming it.
    Unpopulated ones (WITH NO DATA) hold nothing and stay so.
    """
    views = {
        oid: (schema, name)
        for oid, schema, name in conn.execute(
            f"""
            SELECT c.oid, n.nspname, c.relname FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'm' AND c.relispopulated AND {NOT_SYSTEM} AND n.nspname <> %s
            """,  # noqa: S608 - constant text, no input
            [WORK],
        ).fetchall()
    }
    order = TopologicalSorter({oid: set() for oid in views})
    for view, reads in conn.execute(_MATVIEW_READS).fetchall():
        if view in views and reads in views:
            order.add(view, reads)
    refreshed = []
    for oid in order.static_order():
        name = ".".join(views[oid])
        try:
            with conn.transaction():
                conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.Identifier(*views[oid])))
        except psycopg.Error as exc:
            raise FailClosed(
                f"refused, fail closed: materialized view {name} could not be rebuilt from the masked data "
                f"({str(exc).splitlines()[0]}); left as restored it would hold production's values"
            ) from exc
        refreshed.append(name)
    return refreshed


def is_masked(conn) -> bool:
    return (
        _exists(conn, "masked")
        and conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(WORK, "masked"))).fetchone()[0] > 0
    )


def watched(conn) -> int:
    """How many production values the leak scan looks for."""
    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(WORK, "prod_values"))).fetchone()[0]


def mark_masked(conn, run_id: int):
    # Once every table's marker is in: a retried step sees it and skips the whole step.
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (run_id bigint)").format(sql.Identifier(WORK, "masked")))
    conn.execute(sql.SQL("INSERT INTO {} VALUES (%s)").format(sql.Identifier(WORK, "masked")), [run_id])
