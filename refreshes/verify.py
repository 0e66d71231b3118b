"""Checks on the masked copy before it may become staging: the leak scan, foreign keys, counts, joins."""

import re

from psycopg import sql

from refreshes.choices import Strategy
from refreshes.masking import PHONE_RE, WORK
from refreshes.schema import NOT_SYSTEM, count_rows, read_matview_columns

_SCANNED_TYPES = {"text", "character varying", "character", "citext", "inet"}
# Columns that would carry a real payment provider id; none may hold a value in staging.
PAYMENT_ID = re.compile(r"provider_id|payment_intent|stripe|card_fingerprint|payment_method_id", re.IGNORECASE)


def leak_scan(conn, rules, columns) -> dict:
    """Look for any production value ruled personal anywhere in the copy: whole values in every text column
    (of tables and materialized views, as `columns` lists them), and words, emails and phone numbers inside the
    free text. Reports where and how many, never the values."""
    values = sql.Identifier(WORK, "prod_values")
    free_text = {r.key for r in rules if r.strategy == Strategy.SCRUB}
    leaks = []
    scanned = 0
    for column in columns:
        if column.data_type not in _SCANNED_TYPES:
            continue
        scanned += 1
        col, table = sql.Identifier(column.column), sql.Identifier(column.schema, column.table)
        as_text = sql.SQL("host({})").format(col) if column.data_type == "inet" else sql.SQL("{}::text").format(col)
        found = conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE digest({}, 'sha256') IN (SELECT h FROM {})").format(
                table, as_text, values
            )
        ).fetchone()[0]
        if (column.schema, column.table, column.column) in free_text:
            found += conn.execute(
                sql.SQL(
                    """
                    SELECT count(*) FROM (
                        SELECT regexp_replace(w, '^[^[:alnum:]+]+|[^[:alnum:]]+$', '', 'g') AS token
                        FROM {table}, regexp_split_to_table({col}, '\\s+') w
                        UNION ALL
                        SELECT m[1] FROM {table}, regexp_matches({col}, {phone}, 'g') m
                    ) t WHERE digest(token, 'sha256') IN (SELECT h FROM {values})
                    """
                ).format(table=table, col=col, phone=sql.Literal(f"({PHONE_RE})"), values=values)
            ).fetchone()[0]
        if found:
            leaks.append({"column": column.label, "rows": found})
    watched = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(values)).fetchone()[0]
    return {"passed": not leaks, "columns_scanned": scanned, "values_watched": watched, "leaks": leaks}


def foreign_keys(conn) -> list[dict]:
    """Every foreign key of the copy (every schema), with the rows that reach their parent and those that do not."""
    fks = conn.execute(
        f"""
        SELECT con.conname, cn.nspname, child.relname, pn.nspname, parent.relname,
               array_agg(ca.attname ORDER BY k.ord), array_agg(pa.attname ORDER BY k.ord)
        FROM pg_constraint con
        JOIN pg_class child ON child.oid = con.conrelid
        JOIN pg_class parent ON parent.oid = con.confrelid
        JOIN pg_namespace n ON n.oid = child.relnamespace
        JOIN pg_namespace cn ON cn.oid = child.relnamespace
        JOIN pg_namespace pn ON pn.oid = parent.relnamespace
        CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(child_att, parent_att, ord)
        JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = k.child_att
        JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = k.parent_att
        WHERE con.contype = 'f' AND {NOT_SYSTEM} AND n.nspname <> %s
        GROUP BY con.conname, cn.nspname, child.relname, pn.nspname, parent.relname
        ORDER BY cn.nspname, child.relname, con.conname
        """,  # noqa: S608 - constant text, no input
        [WORK],
    ).fetchall()
    results = []
    for name, child_schema, child, parent_schema, parent, child_cols, parent_cols in fks:
        join = sql.SQL(" AND ").join(
            sql.SQL("p.{} = c.{}").format(sql.Identifier(pc), sql.Identifier(cc))
            for cc, pc in zip(child_cols, parent_cols, strict=True)
        )
        not_null = sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(cc)) for cc in child_cols)
        joined, orphans = conn.execute(
            sql.SQL(
                "SELECT count(*) FILTER (WHERE p_found), count(*) FILTER (WHERE NOT p_found) FROM ("
                "SELECT EXISTS (SELECT 1 FROM {parent} p WHERE {join}) AS p_found FROM {child} c WHERE {not_null}) x"
            ).format(
                parent=sql.Identifier(parent_schema, parent),
                child=sql.Identifier(child_schema, child),
                join=join,
                not_null=not_null,
            )
        ).fetchone()
        results.append(
            {
                "name": f"{child_schema}.{name}",
                "child": f"{child_schema}.{child}",
                "parent": f"{parent_schema}.{parent}",
                "joined": joined,
                "orphans": orphans,
            }
        )
    return results


def payment_ids_left(conn, columns) -> list[str]:
    left = []
    for column in columns:
        if column.is_text and PAYMENT_ID.search(column.column):
            n = conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE {} IS NOT NULL AND {} <> ''").format(
                    sql.Identifier(column.schema, column.table),
                    sql.Identifier(column.column),
                    sql.Identifier(column.column),
                )
            ).fetchone()[0]
            if n:
                left.append(f"{column.label} ({n} rows)")
    return left


def preview(conn, columns, *, rows: int) -> dict:
    """A few rows of every table after masking, as text, for the admin's preview."""
    tables: dict[str, list[str]] = {}
    for column in columns:
        tables.setdefault(column.table_key, []).append(column.column)
    out = {}
    for key, cols in tables.items():
        result = conn.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY 1 LIMIT {}").format(
                sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in cols),
                sql.Identifier(*key),
                sql.Literal(rows),
            )
        ).fetchall()
        out[".".join(key)] = {"columns": cols, "rows": [list(r) for r in result]}
    return out


def verify(conn, rules, columns, *, source_counts: dict, source_joins: dict) -> dict:
    """Everything the verify step checks. `problems` is empty when the copy may become staging."""
    emptied = {".".join(r.table_key) for r in rules if r.strategy == Strategy.TRUNCATE}
    counts = count_rows(conn, sorted({c.table_key for c in columns}))
    problems = []
    for table in counts:
        expected = 0 if table in emptied else source_counts.get(table)
        if counts[table] != expected:
            problems.append(f"{table} has {counts[table]} rows, production had {expected}")
    fks = foreign_keys(conn)
    for fk in fks:
        if fk["orphans"]:
            problems.append(f"{fk['child']} → {fk['parent']}: {fk['orphans']} rows lost their parent")
        before = source_joins.get(fk["name"])
        if before is not None and fk["child"] not in emptied and fk["joined"] != before:
            problems.append(f"{fk['child']} → {fk['parent']}: {fk['joined']} rows join, {before} did before masking")
    payment_ids = payment_ids_left(conn, columns)
    if payment_ids:
        problems.append("payment provider ids remain: " + ", ".join(payment_ids))
    scan = leak_scan(conn, rules, columns + read_matview_columns(conn))  # a view's rows are data too
    if not scan["passed"]:
        problems.append(
            "leak scan found production values in " + ", ".join(f"{x['column']} ({x['rows']})" for x in scan["leaks"])
        )
    return {
        "counts": counts,
        "foreign_keys": fks,
        "payment_ids_left": payment_ids,
        "leak_scan": scan,
        "problems": problems,
    }
