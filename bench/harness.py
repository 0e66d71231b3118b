"""Helpers shared by benchmarks: a fresh database, best-of-N timing and a ratio line."""

import os
import time
from urllib.parse import urlsplit, urlunsplit


def fresh_bench_database():
    """Point DATABASE_URL at `<name>_bench`, dropped and created anew, so benchmarks never touch real data."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit("bench: set DATABASE_URL=postgres://... (make bench does)")
    name = parts.path.strip("/") + "_bench"
    import psycopg

    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))


def admin_url():
    """DATABASE_URL's server with the `postgres` database, to create and drop bench databases."""
    return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path="/postgres"))


def best_of(fn, *, repeat=5, number=1):
    """Best wall time of `repeat` runs of `number` calls, in seconds per call."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - started) / number)
    return best


def ratio_line(name, value, baseline, *, unit="s", goal=None):
    ratio = value / baseline if baseline else float("inf")
    goal_text = f" (goal {goal})" if goal else ""
    return f"{name}: {value:.6g} {unit} vs baseline {baseline:.6g} {unit} = {ratio:.2f}x{goal_text}"
