"""Fail closed: read every schema of the source and find every column no rule covers, before anything is copied.

Every schema counts but PostgreSQL's own (pg_catalog, information_schema, pg_toast*, pg_temp*) and the console's
working schema of a scratch copy. A schema no rule mentions fails the preflight by name. The console's own objects
in a target database live in `amarise_ops` (the migrations ledger): known tables there are kept as they are (no
personal data, and staging's ledger must say which migrations its copied schema already has); anything else
in that schema is checked like any other table.
"""

from dataclasses import dataclass, field

from psycopg import sql

from refreshes.choices import TEXT_STRATEGIES, Strategy
from refreshes.models import kept_personal, looks_personal

TEXT_TYPES = {"text", "character varying", "character", "citext"}
DATE_TYPES = {"date", "timestamp with time zone", "timestamp without time zone"}


# The console's own schema in every target database, and what it keeps there (migrations_log's ledger).
CONSOLE_SCHEMA = "amarise_ops"
CONSOLE_TABLES = {"amarise_migrations_log": {"identifier", "sha256", "applied_at"}}
# The console's working schema inside a scratch copy (refreshes.masking.WORK): never part of the data.
WORK_SCHEMA = "_ops_refresh"
NOT_SYSTEM = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'"
)


@dataclass(frozen=True)
class Column:
    schema: str
    table: str
    column: str
    data_type: str
    nullable: bool

    @property
    def is_text(self):
        return self.data_type in TEXT_TYPES

    @property
    def label(self):
        return f"{self.schema}.{self.table}.{self.column}"

    @property
    def table_key(self):
        return (self.schema, self.table)

    @property
    def table_label(self):
        return f"{self.schema}.{self.table}"

    @property
    def console_owned(self):
        """The console's own ledger in amarise_ops: kept as it is, never masked."""
        return self.schema == CONSOLE_SCHEMA and self.column in CONSOLE_TABLES.get(self.table, ())


@dataclass
class SchemaCheck:
    columns: int = 0
    unruled: list[str] = field(default_factory=list)
    personal_unruled: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    stale_rules: list[str] = field(default_factory=list)
    unknown_schemas: list[str] = field(default_factory=list)

    @property
    def passed(self):
        return not (self.unruled or self.mismatched or self.unknown_schemas)

    def summary(self):
        if self.passed:
            text = f"all {self.columns} columns ruled"
        else:
            parts = []
            if self.unknown_schemas:
                parts.append(
                    f"schema(s) no masking rule mentions: {', '.join(self.unknown_schemas)}; "
                    "every schema is copied, so rule its columns as schema.table.column"
                )
            if self.unruled:
                personal = f" ({len(self.personal_unruled)} look personal: {', '.join(self.personal_unruled)})"
                parts.append(
                    f"{len(self.unruled)} column(s) have no rule: {', '.join(self.unruled)}"
                    + (personal if self.personal_unruled else "")
                )
            if self.mismatched:
                parts.append("rules that cannot apply: " + "; ".join(self.mismatched))
            text = ". ".join(parts) + ". Rule them (or declare them safe with 'keep') before the next refresh."
        if self.stale_rules:
            text += f" Rules for columns no longer in the source: {', '.join(self.stale_rules)}."
        return text


def read_columns(conn, *, kinds=("r", "p")) -> list[Column]:
    """Every column of every ordinary or partitioned table (`kinds`: pg_class.relkind) in every schema but the
    system ones and the work schema."""
    rows = conn.execute(
        f"""
        SELECT n.nspname, c.relname, a.attname,
               CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, NULL)
                    WHEN t.typnamespace = 'pg_catalog'::regnamespace THEN format_type(a.atttypid, NULL)
                    ELSE t.typname END,
               NOT a.attnotnull
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        JOIN pg_type t ON t.oid = a.atttypid
        WHERE c.relkind = ANY(%s) AND NOT c.relispartition AND {NOT_SYSTEM} AND n.nspname <> %s
        ORDER BY n.nspname, c.relname, a.attnum
        """,  # noqa: S608 - constant text, no input
        [list(kinds), WORK_SCHEMA],
    ).fetchall()
    return [Column(*row) for row in rows]


def read_matview_columns(conn) -> list[Column]:
    """Every column of every materialized view: data of its own, which the leak scan reads like a table's."""
    return read_columns(conn, kinds=("m",))


def has_work_schema(conn) -> bool:
    """A source holding the console's working schema name would have it dropped in the copy: refused."""
    return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [WORK_SCHEMA]).fetchone() is not None


def count_rows(conn, tables) -> dict:
    """{"schema.table": rows} of (schema, table) pairs."""
    return {
        f"{schema}.{table}": conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        ).fetchone()[0]
        for schema, table in tables
    }


def check_rules(columns: list[Column], rules) -> SchemaCheck:
    by_key = {r.key: r for r in rules}
    emptied = {r.table_key for r in rules if r.strategy == Strategy.TRUNCATE}
    mentioned = {r.schema for r in rules}
    check = SchemaCheck(columns=len(columns))
    present = set()
    unknown: dict[str, set] = {}
    for col in columns:
        present.add((col.schema, col.table, col.column))
        present.add((col.schema, col.table, ""))
        if col.console_owned or col.table_key in emptied:
            continue
        if col.schema not in mentioned:
            unknown.setdefault(col.schema, set()).add(col.table)
        rule = by_key.get((col.schema, col.table, col.column))
        if rule is None:
            check.unruled.append(col.label)
            if looks_personal(col.column):
                check.personal_unruled.append(col.label)
            continue
        problem = _mismatch(rule, col)
        if problem:
            check.mismatched.append(f"{col.label} ({problem})")
    check.unknown_schemas = sorted(f"{name} ({len(tables)} table(s))" for name, tables in unknown.items())
    check.stale_rules = sorted(f"{s}.{t}.{c or '*'}" for s, t, c in by_key if (s, t, c) not in present)
    return check


def _mismatch(rule, col: Column) -> str:
    if kept_personal(rule):
        return "kept, but it holds personal data"
    if rule.strategy in TEXT_STRATEGIES and not col.is_text:
        return f"{rule.get_strategy_display()} needs a text column, this one is {col.data_type}"
    if rule.strategy == Strategy.DATE_SHIFT and col.data_type not in DATE_TYPES:
        return f"date shift needs a date or timestamp, this one is {col.data_type}"
    if rule.strategy == Strategy.NULL and not col.nullable:
        return "set null on a NOT NULL column"
    return ""
