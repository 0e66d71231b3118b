"""Start-up: the console's `manage.py help` against a bare Django project's, and the heaviest imports.

Every operator command, Celery worker and cron'd `backup_status` pays the console's start-up. The baseline
is a project made by `django-admin startproject` in a temporary directory, run by the same Python. Each side
runs on PostgreSQL (the bench's DATABASE_URL) and on SQLite (startproject's own settings; the console's
embedded default of `make run`): Django loads the database driver and its backend when it defines the first
model, so psycopg costs any project on PostgreSQL about a third of a bare project's start-up, and the goal is
taken engine for engine. The console on PostgreSQL against the bare project on SQLite is printed too.
Both sides are byte-compiled first, as an installed deployment is (`make install` does it for the console):
with PYTHONDONTWRITEBYTECODE=1, common in containers and set on these machines, Python never writes a .pyc,
so uncompiled code is compiled again on every start. Median of BENCH_STARTUP_RUNS runs each (default 7),
interleaved. Goal (issue 19): ≤ 2× the bare project on the same engine.
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
    """startproject's project, plus `bare/settings_pg.py`: the same with the bench's PostgreSQL database."""
    import environ

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    django_admin = [sys.executable, "-m", "django", "startproject", "bare", str(directory)]
    subprocess.run(django_admin, env=env, check=True, stdout=subprocess.DEVNULL)
    database = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    (directory / "bare" / "settings_pg.py").write_text(
        f"from .settings import *  # noqa: F403\n\nDATABASES = {{'default': {database!r}}}\n"
    )
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
    help_ = [sys.executable, "manage.py", "help"]
    with tempfile.TemporaryDirectory(prefix="ops_bench_bare_") as tmp:
        bare_env = _bare_project(Path(tmp))
        console_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "amarise_ops.settings"}
        sides = {  # name: (directory, environment)
            "console_pg": (ROOT, console_env),
            "bare_pg": (tmp, {**bare_env, "DJANGO_SETTINGS_MODULE": "bare.settings_pg"}),
            "console_sqlite": (ROOT, {**console_env, "DATABASE_URL": f"sqlite:///{tmp}/console.sqlite3"}),
            "bare_sqlite": (tmp, bare_env),
        }
        for directory in [*_packages(ROOT), Path(tmp)]:
            compileall.compile_dir(directory, quiet=1)
        for directory, env in sides.values():  # warm the page cache on every side
            _time(help_, cwd=directory, env=env)
        times = {name: [] for name in sides}
        for _ in range(runs):
            for name, (directory, env) in sides.items():
                times[name].append(_time(help_, cwd=directory, env=env))
    median = {name: statistics.median(values) for name, values in times.items()}

    def side(name):
        return f"{median[name]:.3f} s (range {min(times[name]):.3f}–{max(times[name]):.3f})"

    def pair(console, bare, label, goal=True):
        ratio = median[console] / median[bare]
        verdict = f" (goal ≤ 2x: {'met' if ratio <= 2 else 'MISSED'})" if goal else ""
        return f"  {label}: console {side(console)} vs bare {side(bare)} = {ratio:.2f}x{verdict}"

    lines = [
        f"manage.py help, median of {runs}, interleaved, the same database engine on both sides:",
        pair("console_pg", "bare_pg", "PostgreSQL"),
        pair("console_sqlite", "bare_sqlite", "SQLite"),
        pair("console_pg", "bare_sqlite", "console on PostgreSQL vs bare on SQLite (engines differ)", goal=False),
        f"  psycopg and Django's PostgreSQL backend: {median['bare_pg'] - median['bare_sqlite']:+.3f} s "
        f"to the bare project, {median['console_pg'] - median['console_sqlite']:+.3f} s to the console",
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
