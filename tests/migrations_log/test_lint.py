"""§6 Backward compatible: squawk's rules mapped onto the strategy's severity, each with a failing and a passing
example. Each finding names the file, its line, the rule and squawk's help text."""

import pytest

from migrations_log.choices import Severity
from migrations_log.lint import lint, run_squawk
from migrations_log.services import register_release
from migrations_log.sql import SqlRefused, analyse

TIMEOUTS = "SET lock_timeout = '2s';\nSET statement_timeout = '60s';\n"

# (rule, severity, failing SQL, passing SQL)
RULES = [
    (
        "adding-required-field",
        Severity.ERROR,
        "ALTER TABLE orders ADD COLUMN channel text NOT NULL;",
        "ALTER TABLE orders ADD COLUMN channel text NOT NULL DEFAULT 'web';",
    ),
    (
        "renaming-column",
        Severity.ERROR,
        "ALTER TABLE orders RENAME COLUMN total TO amount;",
        "ALTER TABLE orders ADD COLUMN amount numeric;",
    ),
    (
        "renaming-table",
        Severity.ERROR,
        "ALTER TABLE orders RENAME TO purchases;",
        "CREATE TABLE purchases (id bigint PRIMARY KEY);",
    ),
    ("ban-drop-column", Severity.ERROR, "ALTER TABLE orders DROP COLUMN gift_note;", "SELECT 1;"),
    ("ban-drop-table", Severity.ERROR, "DROP TABLE legacy_carts;", "SELECT 1;"),
    (
        "changing-column-type",
        Severity.WARNING,
        "ALTER TABLE orders ALTER COLUMN id TYPE numeric;",
        "ALTER TABLE orders ADD COLUMN id2 numeric;",
    ),
    (
        "adding-not-nullable-field",
        Severity.WARNING,
        "ALTER TABLE orders ALTER COLUMN gift_note SET NOT NULL;",
        "ALTER TABLE orders ADD CONSTRAINT gift_note_set CHECK (gift_note IS NOT NULL) NOT VALID;",
    ),
    (
        "require-concurrent-index-creation",
        Severity.WARNING,
        "CREATE INDEX orders_total ON orders (total);",
        "CREATE INDEX CONCURRENTLY orders_total ON orders (total);",
    ),
    (
        "constraint-missing-not-valid",
        Severity.WARNING,
        "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0);",
        "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0) NOT VALID;",
    ),
    ("require-lock-timeout", Severity.WARNING, "ALTER TABLE orders ADD COLUMN a text;", None),
    ("require-statement-timeout", Severity.WARNING, "ALTER TABLE orders ADD COLUMN a text;", None),
]


def _findings(sql, name="0001_m.sql"):
    return lint({name: sql}, {name: analyse(sql, filename=name)})[name]


@pytest.mark.parametrize(("rule", "severity", "failing", "passing"), RULES, ids=[r[0] for r in RULES])
def test_lint__each_rule__failing_flagged_passing_clean(rule, severity, failing, passing):
    failing_sql = (TIMEOUTS if not rule.startswith("require-") else "") + "\n" + failing + "\n"
    flagged = [f for f in _findings(failing_sql) if f.rule == rule]
    assert flagged, f"{rule} not reported for {failing!r}"
    assert {f.severity for f in flagged} == {severity}
    if rule.startswith("require-") and rule.endswith("timeout"):
        passing_sql = TIMEOUTS + failing + "\n"
    else:
        passing_sql = TIMEOUTS + passing + "\n"
    assert [f for f in _findings(passing_sql) if f.rule == rule] == []


def test_lint__finding__names_file_line_rule_and_help():
    sql = TIMEOUTS + "\n-- the channel every order came from\nALTER TABLE orders ADD COLUMN channel text NOT NULL;\n"
    (finding,) = [f for f in _findings(sql, "0007_add_channel.sql") if f.rule == "adding-required-field"]
    assert (finding.file, finding.line) == ("0007_add_channel.sql", 5)
    assert finding.help == "Make the field nullable or add a non-VOLATILE DEFAULT"


def test_lint__drop_finding__carries_what_pglast_says_it_drops():
    sql = TIMEOUTS + "ALTER TABLE public.orders DROP COLUMN gift_note, DROP COLUMN legacy_code;\nDROP TABLE a, s.b;\n"
    drops = {f.drops for f in _findings(sql) if f.rule in {"ban-drop-column", "ban-drop-table"}}
    assert drops == {"orders.gift_note,orders.legacy_code", "a,b"}


ACCENTED = "-- café crème ☕: the channel every order came from\n"


def test_analyse__multi_byte_characters_in_comments__statements_on_their_own_lines():
    sql = ACCENTED + "SELECT 1;\n\n-- naïve drop\nALTER TABLE orders DROP COLUMN gift_note;\n"
    first, second = analyse(sql).statements
    assert (first.sql, first.line, first.end_line) == ("SELECT 1", 2, 2)
    assert (second.sql, second.line, second.drops) == (
        "ALTER TABLE orders DROP COLUMN gift_note",
        5,
        ["orders.gift_note"],
    )


def test_analyse__parse_error_after_multi_byte_characters__right_line_and_column():
    with pytest.raises(SqlRefused, match=r"0002_m.sql: PostgreSQL cannot parse it at line 4, column 1: syntax error"):
        analyse(ACCENTED + "SELECT 1; -- déjà vu\n\nSELEC 2;\n", filename="0002_m.sql")
    line = "SELECT 'crème brûlée' 2;"
    with pytest.raises(SqlRefused, match=rf"at line 2, column {line.index(' 2;') + 2}: syntax error at or near \"2\""):
        analyse(ACCENTED + line + "\n")


def test_lint__multi_byte_characters__findings_at_the_right_line_column_and_statement():
    sql = TIMEOUTS + ACCENTED + "ALTER TABLE orders /* déjà */ ADD COLUMN channel text NOT NULL;\n"
    sql += "-- naïve\nALTER TABLE orders DROP COLUMN gift_note;\n"
    found = {f.rule: f for f in _findings(sql)}
    required, dropped = found["adding-required-field"], found["ban-drop-column"]
    lines = sql.splitlines()
    assert lines[required.line - 1][required.column :].startswith("ADD COLUMN channel")
    assert (dropped.line, dropped.drops) == (lines.index("ALTER TABLE orders DROP COLUMN gift_note;") + 1,
                                             "orders.gift_note")  # fmt: skip


def test_lint__other_squawk_rules__kept_as_warnings():
    findings = _findings(TIMEOUTS + "CREATE TABLE t (id int PRIMARY KEY, at timestamp);\n")
    assert {f.rule for f in findings} >= {"prefer-bigint-over-int", "prefer-timestamp-tz"}
    assert {f.severity for f in findings} == {Severity.WARNING}


def test_run_squawk__binary_missing__clear_message(settings):
    from migrations_log.lint import LintUnavailable

    settings.OPS_MIGRATIONS_SQUAWK = "/nonexistent/squawk"
    with pytest.raises(LintUnavailable, match="squawk could not run"):
        run_squawk({"0001_m.sql": "SELECT 1;"})


def test_register_release__findings_stored_with_location(seeded):
    sql = "ALTER TABLE orders ADD COLUMN channel text NOT NULL;\nCREATE INDEX i ON orders (channel);\n"
    register_release(version="v2.0", files={"0001_channel.sql": sql})
    from migrations_log.models import LintFinding

    stored = {(f.location, f.rule, f.severity) for f in LintFinding.objects.all()}
    assert ("0001_channel.sql:1", "adding-required-field", "error") in stored
    assert ("0001_channel.sql:2", "require-concurrent-index-creation", "warning") in stored
