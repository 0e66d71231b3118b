"""Start-up: the console's `manage.py help` against a bare Django project's, and the heaviest imports.

Every operator command, Celery worker and cron'd `backup_status` pays the console's start-up. The baseline
is a project made by `django-admin startproject` in a temporary directory, run by the same Python.
Both sides are byte-compiled first, as an installed deployment is (`make install` does it for the console):
with PYTHONDONTWRITEBYTECODE=1, common in containers and set on these machines, Python never writes a .pyc,
so uncompiled code is compiled again on every start. Median of BENCH_STARTUP_RUNS runs each (default 7),
interleaved. Goal (issue 19): ≤ 2× the bare project.
Then the 10 modules with the largest cumulative time in `python -X importtime` of `django.setup()` with the
console's settings, so the heavy imports are visible.
"""

import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(command, *, cwd, env):
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _packages(root):
    """The console's own packages (what `make install` byte-compiles), not the virtualenv."""
    return sorted(p.parent for p in root.glob("*/__init__.py"))


def _bare_project(directory):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    django_admin = [sys.executable, "-m", "django", "startproject", "bare", str(directory)]
    subprocess.run(django_admin, env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def import_times(env):
    """[(cumulative ms, self ms, module)] of `django.setup()` with the console's settings, largest first."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import django; django.setup()"],
        cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "amarise_ops.settings"}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        own, cumulative, module = line.removeprefix("import time:").split("|")
        rows.append((int(cumulative) / 1000, int(own) / 1000, module.strip()))
    rows.sort(reverse=True)
    return rows


def _outside_django(module):
    top = module.split(".")[0]
    return top != "django" and top not in sys.stdlib_module_names


def run():
    runs = int(os.environ.get("BENCH_STARTUP_RUNS", "7"))
    console_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "amarise_ops.settings"}
    console_command = [sys.executable, "manage.py", "help"]
    with tempfile.TemporaryDirectory(prefix="ops_bench_bare_") as tmp:
        bare_env = _bare_project(Path(tmp))
        bare_command = [sys.executable, "manage.py", "help"]
        for directory in [*_packages(ROOT), Path(tmp)]:
            compileall.compile_dir(directory, quiet=1)
        _time(console_command, cwd=ROOT, env=console_env)  # warm the page cache on both sides
        _time(bare_command, cwd=tmp, env=bare_env)
        console, bare = [], []
        for _ in range(runs):
            console.append(_time(console_command, cwd=ROOT, env=console_env))
            bare.append(_time(bare_command, cwd=tmp, env=bare_env))
    console_s, bare_s = statistics.median(console), statistics.median(bare)
    ratio = console_s / bare_s
    lines = [
        f"manage.py help, median of {runs}: console {console_s:.3f} s (range {min(console):.3f}–{max(console):.3f}) "
        f"vs bare Django project {bare_s:.3f} s (range {min(bare):.3f}–{max(bare):.3f}) = {ratio:.2f}x "
        f"(goal ≤ 2x: {'met' if ratio <= 2 else 'MISSED'})",
    ]
    rows = import_times(console_env)
    for title, chosen in [
        ("top 10 imports by cumulative time", rows[:10]),
        ("top 10 outside Django and the standard library", [r for r in rows if _outside_django(r[2])][:10]),
    ]:
        lines.append(f"{title}, `python -X importtime -c 'import django; django.setup()'`:")
        for cumulative, own, module in chosen:
            lines.append(f"  {cumulative:8.1f} ms cumulative {own:7.1f} ms self  {module}")
    return lines
