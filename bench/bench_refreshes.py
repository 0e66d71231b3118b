"""Masking the sample commerce database against a bare UPDATE of the same columns to constants.

Both run on copies (CREATE DATABASE ... TEMPLATE) of one generated source, in the same run. Goal: the
masking takes at most twice the bare UPDATE. BENCH_REFRESHES_CUSTOMERS sets the size (orders are 2x).
"""

import os
import time

import psycopg
from psycopg import sql

from bench.harness import ratio_line
from refreshes import conf, masking, pg
from refreshes.choices import Strategy
from refreshes.rules import as_rules
from refreshes.sample import generate
from refreshes.schema import read_columns

SERVER = os.environ.get("BENCH_REFRESHES_SERVER", "postgres://postgres@127.0.0.1:5432/")
CUSTOMERS = int(os.environ.get("BENCH_REFRESHES_CUSTOMERS", "1000000"))
SOURCE = f"amarise_ops_refreshes_bench_src_{CUSTOMERS}"
KEY = "bench-masking-key-0123456789abcdef"

_CONSTANT = {"date": "date '2000-01-01'", "inet": "NULL"}
# A constant would break the unique index on customers.email: the cheapest unique value instead.
_UNIQUE = {("public", "customers", "email"): "'c' || id"}


def _admin():
    return psycopg.connect(f"{SERVER}postgres", autocommit=True)


def _ensure_source():
    with _admin() as conn:
        if pg.database_exists(conn, SOURCE):
            return
        pg.create_database(conn, SOURCE, private=False)
    with psycopg.connect(f"{SERVER}{SOURCE}") as conn:
        generate.build(conn, customers=CUSTOMERS)


def _copy(name):
    with _admin() as conn:
        pg.drop_database(conn, name)
        pg.create_database(conn, name, template=SOURCE, private=False)
    return psycopg.connect(f"{SERVER}{name}")


def _baseline_statements(rules, columns):
    # Schema-qualified as the masking's own statements are (issue 20): the same names, bare constants.
    by_key = {r.key: r for r in rules}
    emptied = sorted({r.table_key for r in rules if r.strategy == Strategy.TRUNCATE})
    statements = [sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(*key) for key in emptied))]
    sets = {}
    for c in columns:
        rule = by_key.get((c.schema, c.table, c.column))
        if c.table_key in emptied or rule is None or rule.strategy == Strategy.KEEP:
            continue
        value = _UNIQUE.get((c.schema, c.table, c.column)) or ("NULL" if rule.strategy == Strategy.NULL else None)
        value = value or _CONSTANT.get(c.data_type, "'x'")
        sets.setdefault(c.table_key, []).append(sql.SQL("{} = " + value).format(sql.Identifier(c.column)))
    for key, assignments in sets.items():
        statements.append(sql.SQL("UPDATE {} SET {}").format(sql.Identifier(*key), sql.SQL(", ").join(assignments)))
    return statements


def run():
    rules = as_rules()
    started = time.perf_counter()
    _ensure_source()
    lines = [f"source: {CUSTOMERS} customers, {2 * CUSTOMERS} orders (ready in {time.perf_counter() - started:.1f}s)"]

    with _copy("amarise_ops_refreshes_bench_bare") as conn:
        columns = read_columns(conn)
        started = time.perf_counter()
        with conn.transaction():
            for statement in _baseline_statements(rules, columns):
                conn.execute(statement)
        bare = time.perf_counter() - started

    with _copy("amarise_ops_refreshes_bench_masked") as conn:
        with conn.transaction():
            masking.prepare(conn)
            started = time.perf_counter()
            masking.capture_production_values(conn, rules, columns, min_length=5)
            capture = time.perf_counter() - started
    # As the refresh does it: tables in parallel, each on its own connection.
    started = time.perf_counter()
    masking.apply(lambda: psycopg.connect(f"{SERVER}amarise_ops_refreshes_bench_masked"), rules, columns, key=KEY,
                  parallel=conf.MASK_PARALLEL)  # fmt: skip
    masked = time.perf_counter() - started

    with _admin() as conn:
        for name in ("amarise_ops_refreshes_bench_bare", "amarise_ops_refreshes_bench_masked"):
            pg.drop_database(conn, name)
    lines.append(ratio_line(f"mask (HMAC, dictionaries, scrub, truncate; {conf.MASK_PARALLEL} tables at once)", masked,
                            bare, goal="<= 2x"))  # fmt: skip
    lines.append(f"leak-scan capture of production values (not in the ratio): {capture:.1f} s")
    return lines
