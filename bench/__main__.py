"""`make bench`: every benchmark prints its figure and a ratio against a baseline measured in the same run.

Benchmarks live in bench/bench_<concern>.py, each with a `run()` that returns a list of result lines.
They run against a database of their own (`<DATABASE_URL's name>_bench`), created afresh here.
Timings belong here, never in tests.

    python -m bench                      # every benchmark
    python -m bench flags startup        # some of them, by name (bench_<name>.py)
    python -m bench admin_pages --scale 0.01   # a year of data at 1% for a quick check (default 1.0)
"""

import argparse
import importlib
import io
import os
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help="benchmarks to run (bench_<name>.py); all when none")
    parser.add_argument("--scale", type=float, default=None,
                        help="volume of the year of data (1.0 = the issue's year; also BENCH_SCALE)")  # fmt: skip
    args = parser.parse_args()
    if args.scale is not None:
        os.environ["BENCH_SCALE"] = str(args.scale)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amarise_ops.settings")
    from bench.harness import fresh_bench_database

    fresh_bench_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_strategy", stdout=io.StringIO())

    wanted = set(args.names)
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
