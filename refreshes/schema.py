"""Fail closed: read the source schema and find every column no rule covers, before anything is copied."""

from dataclasses import dataclass, field

from refreshes.choices import TEXT_STRATEGIES, Strategy
from refreshes.models import kept_personal, looks_personal

TEXT_TYPES = {"text", "character varying", "character", "citext"}
DATE_TYPES = {"date", "timestamp with time zone", "timestamp without time zone"}


@dataclass(frozen=True)
class Column:
    table: str
    column: str
    data_type: str
    nullable: bool

    @property
    def is_text(self):
        return self.data_type in TEXT_TYPES

    @property
    def label(self):
        return f"{self.table}.{self.column}"


@dataclass
class SchemaCheck:
    columns: int = 0
    unruled: list[str] = field(default_factory=list)
    personal_unruled: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    stale_rules: list[str] = field(default_factory=list)

    @property
    def passed(self):
        return not (self.unruled or self.mismatched)

    def summary(self):
        if self.passed:
            text = f"all {self.columns} columns ruled"
        else:
            parts = []
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


def read_columns(conn) -> list[Column]:
    rows = conn.execute(
        """
        SELECT c.table_name, c.column_name,
               CASE WHEN c.data_type = 'USER-DEFINED' THEN c.udt_name ELSE c.data_type END,
               c.is_nullable = 'YES'
        FROM information_schema.columns c
        JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
        ORDER BY c.table_name, c.ordinal_position
        """
    ).fetchall()
    return [Column(*row) for row in rows]


def check_rules(columns: list[Column], rules) -> SchemaCheck:
    by_key = {(r.table, r.column): r for r in rules}
    emptied = {r.table for r in rules if r.strategy == Strategy.TRUNCATE}
    check = SchemaCheck(columns=len(columns))
    present = set()
    for col in columns:
        present.add((col.table, col.column))
        present.add((col.table, ""))
        if col.table in emptied:
            continue
        rule = by_key.get((col.table, col.column))
        if rule is None:
            check.unruled.append(col.label)
            if looks_personal(col.column):
                check.personal_unruled.append(col.label)
            continue
        problem = _mismatch(rule, col)
        if problem:
            check.mismatched.append(f"{col.label} ({problem})")
    check.stale_rules = sorted(f"{t}.{c or '*'}" for t, c in by_key if (t, c) not in present)
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
