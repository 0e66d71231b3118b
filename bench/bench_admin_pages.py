"""Every admin page after a year of data: time (median of 3) and queries, each flagged over 300 ms.

The year is loaded once per run into its own database (bench/year_of_data.py, at BENCH_SCALE or
`--scale`, default 1.0; about five minutes at 1.0 on two busy cores, seconds at 0.01) and dropped after, unless
BENCH_KEEP_YEAR=1. BENCH_REUSE_YEAR=1 reuses a kept year of the same scale. Pages are requested as a
logged-in superuser through Django's test client in this process, with DEBUG off, so every middleware,
the admin and the templates run as under gunicorn; queries are counted (a connection execute_wrapper) on a
first, warming request, and the time is the median of the next three.

First the pages issue 19 names, then a crawl of every registered model's changelist and one change page.
Goal (issue 19): every page under 300 ms, with a number of queries that does not grow with the data.

Last, when the year is to be dropped, the retention prune of its RPO checks is timed (rolled up to hourly, then
deleted, a day per transaction) and the hourly list it filled is measured. A year scaled down spans days, not
months: below 60 days of checks, the prune keeps 1 raw day instead of 30 so that it has something to roll up.
"""

import math
import os
import statistics
import time

SLOW_MS = 300
REPEAT = 3


def _say(line):
    print(f"   {line}", flush=True)


def _year(scale):
    import psycopg
    from django.core.management import call_command
    from django.db import connections

    from bench.harness import admin_url
    from bench.year_of_data import on_database, year_database

    name = f"{connections['default'].settings_dict['NAME']}_year"
    marker = f"bench year scale={scale}"
    if os.environ.get("BENCH_REUSE_YEAR") == "1":
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
        if row and row[0] == marker:
            _say(f"reusing {name} ({marker})")
            with on_database(name):
                call_command("migrate", verbosity=0)
            return name
    started = time.perf_counter()
    name, counts = year_database(scale, say=_say)
    _say(f"a year at scale {scale}: {sum(counts.values()):,} rows in {time.perf_counter() - started:.0f}s")
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{marker}'")
    return name


def _drop(name):
    import psycopg

    from bench.harness import admin_url

    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def named_pages():
    """(label, url) of the pages the issue's table names, at this database's data."""
    from django.contrib import admin
    from django.db.models import F
    from django.urls import reverse

    from backups.models import ProtectedDatabase, RpoCheck
    from deployments.models import Release, Slot
    from flags.models import Flag

    pages = []

    def add(label, name, *args, query=""):
        try:
            pages.append((label, reverse(f"admin:{name}", args=args) + query))
        except Exception as exc:  # a page another change renamed or removed: say so, measure the rest
            pages.append((label, f"!{type(exc).__name__}: {exc}"))

    release = (
        Release.objects.filter(migration_set__isnull=False)
        .annotate(size=F("migration_set__size"))
        .order_by("-size", "-pk")
        .first()
    )
    if release is not None:
        add(f"Migrations matrix of release {release.version} ({release.size} migrations)",
            "migrations_log_release_matrix", release.pk)  # fmt: skip
    add("RPO check list", "backups_rpocheck_changelist")
    per_page = admin.site._registry[RpoCheck].list_per_page
    deep = max(1, math.ceil(RpoCheck.objects.count() / per_page) // 2)
    add(f"RPO check list, page {deep}", "backups_rpocheck_changelist", query=f"?p={deep}")
    add("Migration list", "migrations_log_migration_changelist")
    add("Task result list", "django_celery_results_taskresult_changelist")
    add("Task result search", "django_celery_results_taskresult_changelist", query="?q=backups.check_rpo")
    add("Deployment start page", "deployments_deployment_start")
    add("Migration run list", "migrations_log_migrationrun_changelist")
    add("Lint finding list", "migrations_log_lintfinding_changelist")
    add("Deployment list", "deployments_deployment_changelist")
    flag = Flag.objects.filter(key="checkoutEnabled").first() or Flag.objects.first()
    if flag is not None:
        add(f"Flag page ({flag.key}, audit history)", "flags_flag_change", flag.pk)
    slot = Slot.objects.filter(environment__key="production").order_by("pk").first()
    if slot is not None:
        add(f"Slot history ({slot})", "deployments_slot_history", slot.pk)
    databases = ProtectedDatabase.objects.count()
    add(f"Protected databases list ({databases} rows)", "backups_protecteddatabase_changelist")
    add("Dashboard", "index")
    return pages


def crawl_pages(skip):
    """(label, url) of every registered model's changelist and its first object's change page."""
    from django.contrib import admin
    from django.urls import reverse

    pages = []
    for model, _ in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        changelist = reverse(f"{base}_changelist")
        if changelist not in skip:
            pages.append((f"{opts.label} list", changelist))
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        if first is not None:
            change = reverse(f"{base}_change", args=[first])
            if change not in skip:
                pages.append((f"{opts.label} change", change))
    return pages


def _measure(client, url):
    from django.db import connection

    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url)
    if response.status_code != 200:
        return response.status_code, None, len(queries)
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - started)
    return 200, statistics.median(times) * 1000, len(queries)


def _superuser():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True, "email": "bench@amarise.invalid"}
    )
    return user


def prune_rpo_checks():
    """Time retention's prune of the RPO checks (roll-up first); its result line, and the pages it filled."""
    from datetime import timedelta

    from django.contrib import admin
    from django.db.models import Max, Min
    from django.urls import reverse

    from backups.models import RpoCheck, RpoCheckHourly
    from retention.models import RetentionPolicy
    from retention.services import prune

    policy = RetentionPolicy.objects.get(table="backups.RpoCheck")
    span = RpoCheck.objects.aggregate(span=Max("checked_at") - Min("checked_at"))["span"] or timedelta(0)
    if span < timedelta(days=60):
        RetentionPolicy.objects.filter(pk=policy.pk).update(keep_days=1)
    started = time.perf_counter()
    run = prune(policy_id=policy.pk, started_by="bench")
    seconds = time.perf_counter() - started
    line = (f"retention prune of the year's RPO checks (keeping {1 if span < timedelta(days=60) else policy.keep_days}"
            f" raw days): {run.removed:,} removed, {run.rolled_up:,} hourly rows rolled up in {run.batches} "
            f"transactions, {seconds:.1f} s")  # fmt: skip
    hourly = reverse("admin:backups_rpocheckhourly_changelist")
    per_page = admin.site._registry[RpoCheckHourly].list_per_page
    deep = max(1, math.ceil(RpoCheckHourly.objects.count() / per_page) // 2)
    return line, [("RPO check hours list, after the prune", hourly),
                  (f"RPO check hours list, page {deep}", f"{hourly}?p={deep}")]  # fmt: skip


def run():
    from django.test import Client, override_settings

    from bench.year_of_data import on_database

    scale = float(os.environ.get("BENCH_SCALE", "1.0"))
    name = _year(scale)
    lines = []
    try:
        with on_database(name), override_settings(DEBUG=False):
            client = Client(raise_request_exception=False)
            client.force_login(_superuser())
            named = named_pages()
            crawl = crawl_pages({url for _, url in named})
            results = []
            for section, pages in (("pages named by issue 19", named), ("every changelist and a change page", crawl)):
                lines.append(f"{section} (scale {scale}; ms = median of {REPEAT}, queries on the first request):")
                for label, url in pages:
                    if url.startswith("!"):
                        lines.append(f"  {'—':>8}  {'':>7}  {label}: cannot build its URL ({url[1:]})")
                        continue
                    status, ms, queries = _measure(client, url)
                    results.append((label, status, ms, queries))
                    if ms is None:
                        lines.append(f"  {'HTTP ' + str(status):>8}  {queries:>7}  {label}  {url}")
                        continue
                    mark = f"  over {SLOW_MS} ms" if ms > SLOW_MS else ""
                    lines.append(f"  {ms:>6.0f}ms  {queries:>4} q.  {label}  {url}{mark}")
            if os.environ.get("BENCH_KEEP_YEAR") != "1":  # the prune empties the kept year's raw checks
                line, pages = prune_rpo_checks()
                lines.append(line)
                for label, url in pages:
                    status, ms, queries = _measure(client, url)
                    results.append((label, status, ms, queries))
                    shown = f"{ms:>6.0f}ms" if ms is not None else f"HTTP {status}"
                    mark = f"  over {SLOW_MS} ms" if ms is not None and ms > SLOW_MS else ""
                    lines.append(f"  {shown:>8}  {queries:>4} q.  {label}  {url}{mark}")
            timed = [r for r in results if r[2] is not None]
            slow = [r for r in timed if r[2] > SLOW_MS]
            failed = [r for r in results if r[2] is None]
            total_ms = sum(r[2] for r in timed)
            lines.append(
                f"total: {len(timed)} pages in {total_ms / 1000:.2f} s, {len(slow)} over {SLOW_MS} ms "
                f"(goal: none), max {max((r[3] for r in timed), default=0)} queries on a page"
                + (f", {len(failed)} did not answer 200" if failed else "")
            )
    finally:
        if os.environ.get("BENCH_KEEP_YEAR") != "1":
            _drop(name)
    return lines
