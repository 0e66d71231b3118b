"""Linting speed of the migrations log: 1,000 migration files through pglast (statements, drops, directives)
and squawk (one run, JSON reporter), in files per second.

Baselines measured in the same run: pglast parsing alone, and squawk alone on the same SQL as one
concatenated file (the least a squawk-based linter can cost). Registration adds the database writes.
"""

import time

from bench.harness import best_of, ratio_line

FILES = 1000

_SHAPES = [
    "-- estimate: 2s\nSET lock_timeout = '2s';\nSET statement_timeout = '60s';\n"
    "ALTER TABLE orders_{n} ADD COLUMN note_{n} text;\n",
    "CREATE TABLE wishlist_{n} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());\n",
    "CREATE INDEX CONCURRENTLY orders_{n}_total ON orders (total);\n",
    "ALTER TABLE orders ADD COLUMN required_{n} text NOT NULL;\nCREATE INDEX idx_{n} ON orders (required_{n});\n",
    "-- deprecates column orders.legacy_{n}\nCOMMENT ON COLUMN orders.legacy_{n} IS 'deprecated';\n",
    "ALTER TABLE orders DROP COLUMN legacy_{n};\nALTER TABLE orders ADD CONSTRAINT c_{n} CHECK (total > 0);\n",
    "ALTER TABLE orders RENAME COLUMN a_{n} TO b_{n};\nALTER TABLE orders ALTER COLUMN c_{n} TYPE bigint;\n",
]


def _files():
    return {f"{n:05d}_m{n}.sql": _SHAPES[n % len(_SHAPES)].format(n=n) for n in range(1, FILES + 1)}


def run():
    from migrations_log import lint
    from migrations_log.sql import analyse

    files = _files()

    def parse_only():
        return {name: analyse(sql, filename=name) for name, sql in files.items()}

    def squawk_concatenated():
        return lint.run_squawk({"all.sql": "\n".join(files.values())})

    def console_lint():
        analyses = parse_only()
        return lint.lint(files, analyses)

    findings = console_lint()
    count = sum(len(v) for v in findings.values())
    parse = best_of(parse_only, repeat=3)
    squawk_one = best_of(squawk_concatenated, repeat=3)
    full = best_of(console_lint, repeat=3)

    lines = [
        f"{FILES} files, {count} findings",
        ratio_line("console lint (pglast + squawk per file)", FILES / full, FILES / parse, unit="files/s")
        + " [baseline: pglast parsing alone]",
        ratio_line("console lint (pglast + squawk per file)", FILES / full, FILES / squawk_one, unit="files/s")
        + " [baseline: squawk alone on one concatenated file]",
    ]

    from deployments.models import Release
    from migrations_log.models import Migration
    from migrations_log.services import register_release

    Migration.objects.all().delete()
    Release.objects.filter(version="bench").delete()
    started = time.perf_counter()
    register_release(version="bench", files=files, ref="release/bench", ref_kind="branch")
    registration = time.perf_counter() - started
    lines.append(
        ratio_line("register_release (lint + database rows)", FILES / registration, FILES / full, unit="files/s")
        + " [baseline: console lint alone]"
    )
    return lines
