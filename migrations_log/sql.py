"""What PostgreSQL's own parser (pglast) says about a migration file: its statements, what it drops,
what cannot run inside a transaction, and the file's `-- deprecates` / `-- estimate` directives."""

import re
from dataclasses import dataclass, field

# `-- deprecates column orders.gift_note`, `-- deprecates table legacy_carts`, `-- estimate: 90s`
_DEPRECATES = re.compile(r"^\s*--\s*deprecates\s+(table|column)\s+([A-Za-z0-9_.\"]+)\s*$", re.I | re.M)
_ESTIMATE = re.compile(r"^\s*--\s*estimate:?\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$", re.I | re.M)
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, None: 1}


class SqlRefused(ValueError):
    pass


@dataclass
class Statement:
    sql: str
    line: int  # 1-based line where it starts
    end_line: int
    transactional: bool
    drops: list[str] = field(default_factory=list)  # "table" or "table.column"
    renames: bool = False


@dataclass
class Analysis:
    statements: list[Statement]
    deprecates: list[tuple[str, str, str]]  # (kind, table, column)
    estimate_seconds: float | None

    @property
    def drops(self):
        return [target for s in self.statements for target in s.drops]

    @property
    def transactional(self):
        return all(s.transactional for s in self.statements)

    def statement_at(self, line):
        """The statement a 1-based line falls in (squawk reports lines; pglast knows statements)."""
        for statement in self.statements:
            if statement.line <= line <= statement.end_line:
                return statement
        return None


def _name(parts):
    parts = [p.sval if hasattr(p, "sval") else str(p) for p in parts]
    return parts[-1].lower()


def _non_transactional(stmt):
    """Statements PostgreSQL refuses inside a transaction block."""
    from pglast import ast

    if isinstance(stmt, ast.IndexStmt | ast.DropStmt | ast.ReindexStmt) and getattr(stmt, "concurrent", False):
        return True
    if isinstance(stmt, ast.ReindexStmt):
        return any(getattr(o, "defname", "") == "concurrently" for o in stmt.params or ())
    return isinstance(
        stmt, ast.VacuumStmt | ast.CreatedbStmt | ast.DropdbStmt | ast.AlterSystemStmt | ast.CreateTableSpaceStmt
    )


def _drops(stmt):
    from pglast import ast, enums

    if isinstance(stmt, ast.DropStmt) and stmt.removeType == enums.ObjectType.OBJECT_TABLE:
        return [_name(obj) for obj in stmt.objects]
    if isinstance(stmt, ast.AlterTableStmt):
        table = stmt.relation.relname.lower()
        return [
            f"{table}.{cmd.name.lower()}"
            for cmd in stmt.cmds
            if isinstance(cmd, ast.AlterTableCmd) and cmd.subtype == enums.AlterTableType.AT_DropColumn
        ]
    return []


def _line_of(sql: str, offset: int) -> int:
    # pglast gives offsets in characters, not bytes: counted in the str, an é or ☕ before them shifts nothing.
    return sql.count("\n", 0, offset) + 1


def _column_of(sql: str, offset: int) -> int:
    """1-based, in characters."""
    return offset - (sql.rfind("\n", 0, offset) + 1) + 1


def char_column(sql: str, line: int, byte_column: int) -> int:
    """squawk counts columns in bytes (0-based): the same column counted in characters of that line."""
    lines = sql.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return len(text.encode()[:byte_column].decode(errors="ignore"))


def analyse(sql: str, *, filename: str = "migration") -> Analysis:
    # pglast is heavy (~0.4 s): imported on first use, not by every command and worker at start-up.
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    try:
        raws = parse_sql(sql)
    except ParseError as exc:
        location = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else None
        where = (
            f" at line {_line_of(sql, location)}, column {_column_of(sql, location)}" if location is not None else ""
        )
        raise SqlRefused(f"{filename}: PostgreSQL cannot parse it{where}: {exc.args[0]}.") from None
    statements = []
    for raw in raws:
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(sql)
        text = sql[start:end].strip()
        # pglast's location includes leading comments and blank lines; the statement starts at its first token.
        body_start = start + (len(sql[start:end]) - len(sql[start:end].lstrip()))
        line = _line_of(sql, body_start)
        stmt = raw.stmt
        if isinstance(stmt, ast.TransactionStmt):
            raise SqlRefused(
                f"{filename}:{line}: remove {text.split()[0].upper()}: the console runs each migration in its own "
                "transaction."
            )
        statements.append(
            Statement(
                sql=text,
                line=line,
                end_line=_line_of(sql, end),
                transactional=not _non_transactional(stmt),
                drops=_drops(stmt),
                renames=isinstance(stmt, ast.RenameStmt),
            )
        )
    if not statements:
        raise SqlRefused(f"{filename}: holds no SQL statement.")
    runnable = [s for s in statements if not s.sql.upper().startswith(("SET ", "RESET "))]
    if any(not s.transactional for s in runnable) and len(runnable) > 1:
        odd = next(s for s in runnable if not s.transactional)
        raise SqlRefused(
            f"{filename}:{odd.line}: “{odd.sql[:60]}” cannot run inside a transaction; put it in a migration of its "
            "own (SET statements may accompany it), so every other migration stays all-or-nothing."
        )
    deprecates = []
    for kind, target in _DEPRECATES.findall(sql):
        parts = target.replace('"', "").lower().split(".")
        if kind.lower() == "table" and len(parts) == 1:
            deprecates.append(("table", parts[0], ""))
        elif kind.lower() == "column" and len(parts) == 2:
            deprecates.append(("column", parts[0], parts[1]))
        else:
            raise SqlRefused(
                f"{filename}: “deprecates {kind} {target}”: write `-- deprecates table <table>` or "
                "`-- deprecates column <table>.<column>`."
            )
    estimates = _ESTIMATE.findall(sql)
    estimate = float(estimates[-1][0]) * _UNIT[(estimates[-1][1] or "s").lower()] if estimates else None
    return Analysis(statements=statements, deprecates=deprecates, estimate_seconds=estimate)
