"""`make bench`: every benchmark prints its figure and a ratio against a baseline measured in the same run.

Benchmarks live in bench/bench_<concern>.py, each with a `run()` that returns a list of result lines.
They run against a database of their own (`<DATABASE_URL's name>_bench`), created afresh here.
Timings belong here, never in tests.
"""

import importlib
import io
import os
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amarise_ops.settings")
    from bench.harness import fresh_bench_database

    fresh_bench_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_strategy", stdout=io.StringIO())

    wanted = set(sys.argv[1:])
    modules = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    modules = [m for m in modules if not wanted or m.removeprefix("bench_") in wanted]
    if not modules:
        print("bench: no benchmarks")
        return
    for name in modules:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}", flush=True)
        for line in module.run():
            print(f"   {line}", flush=True)


if __name__ == "__main__":
    main()
