"""`make bench`: every benchmark prints its figure and a ratio against a baseline measured in the same run.

Benchmarks live in bench/bench_<concern>.py, each with a `run()` that returns a list of result lines.
Timings belong here, never in tests.
"""

import importlib
import os
import pkgutil
import sys
from pathlib import Path

import django


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amarise_ops.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    django.setup()
    modules = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if not modules:
        print("bench: no benchmarks yet")
        return
    for name in modules:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}")
        for line in module.run():
            print(f"   {line}")


if __name__ == "__main__":
    main()
