"""DORA figures at scale: 100,000 deployments (50,000 releases, each deployed twice, 150,000 commits) over a
year in four environments, and 10,000 incidents (8,000 linked to rollbacks), loaded with INSERT ... SELECT
over generate_series. Times the DORA page (7, 30 and 90 days) and GET /api/metrics/dora/ through Django's
test client, with their query counts, against the goal of 300 ms. Baseline, same run: the deployments
admin changelist for production (the page ops open anyway), through the same client.
"""

import os
import time

from django.db import connection

from bench.harness import best_of, ratio_line

DEPLOYMENTS = 100_000
RELEASES = 50_000
COMMITS_PER_RELEASE = 3
INCIDENTS = 10_000
LINKED_INCIDENTS = 8_000
GOAL_SECONDS = 0.3


def _insert(model, source, exprs):
    """INSERT INTO model's table SELECT exprs FROM source; every other NOT NULL column takes its model default."""
    columns, values, defaults = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.attname in exprs:
            columns.append(field.column)
            values.append(exprs[field.attname].replace("%", "%%"))  # modulo, not a placeholder
        elif not field.null:
            columns.append(field.column)
            values.append("%s")
            defaults.append(field.get_db_prep_save(field.get_default(), connection))
    table, source = model._meta.db_table, source.replace("%", "%%")
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {source}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, defaults)
        return cursor.rowcount


def load():
    from deployments.public import Deployment, Release, ReleaseCommit
    from environments.public import Environment
    from incidents.public import Incident, Severity

    envs = list(Environment.objects.order_by("order").values_list("pk", flat=True))
    severity = Severity.objects.order_by("order").first().pk
    env_array = "(ARRAY[" + ",".join(map(str, envs)) + "])"
    year = f"(interval '365 days' / {DEPLOYMENTS})"
    started = time.perf_counter()
    _insert(Release, f"generate_series(0, {RELEASES - 1}) AS g", {
        "version": "'bench-' || g", "ref": "'bench'", "ref_kind": "'tag'", "source": "'hook'", "created_at": "now()",
    })  # fmt: skip
    base = Release.objects.filter(version="bench-0").values_list("pk", flat=True).get()
    # Release i is deployed twice in one environment: deployment 2i + 1 first, then 2i (g * year before now).
    _insert(ReleaseCommit, f"generate_series(0, {RELEASES * COMMITS_PER_RELEASE - 1}) AS g", {
        "release_id": f"{base} + g % {RELEASES}",
        "sha": "lpad(to_hex(g), 12, '0')",
        "committed_at": f"now() - (2 * (g % {RELEASES}) + 1) * {year} - ((g % 97) + 1) * interval '1 hour'",
        "author": "'bench'", "message": "'change'",
    })  # fmt: skip
    status = "CASE WHEN g % 25 = 0 THEN 'failed' WHEN g % 8 = 0 THEN 'rolled_back' ELSE 'succeeded' END"
    finished = f"now() - g * {year}"
    _insert(Deployment, f"generate_series(0, {DEPLOYMENTS - 1}) AS g", {
        "release_id": f"{base} + g / 2",
        "environment_id": f"{env_array}[(g / 2) % {len(envs)} + 1]",
        "status": status, "strategy": "'blue_green'", "created_at": f"{finished} - interval '30 minutes'",
        "started_at": f"{finished} - interval '20 minutes'", "finished_at": finished,
        "executed_at": f"CASE WHEN g % 8 = 0 AND g % 25 <> 0 THEN {finished} END",
    })  # fmt: skip
    rolled_back = f"SELECT * FROM {Deployment._meta.db_table} WHERE status = 'rolled_back'"  # noqa: S608
    _insert(Incident, f"({rolled_back} ORDER BY id LIMIT {LINKED_INCIDENTS}) AS d", {
        "title": "'bench rollback'", "environment_id": "d.environment_id", "severity_id": str(severity),
        "deployment_id": "d.id", "release_id": "d.release_id", "opened_at": "d.executed_at",
        "started_at": "d.started_at", "detected_at": "d.executed_at - interval '5 minutes'",
        "decided_at": "d.executed_at - interval '2 minutes'", "executed_at": "d.executed_at",
        "resolved_at": "d.executed_at + interval '2 hours'",
    })  # fmt: skip
    _insert(Incident, f"generate_series(1, {INCIDENTS - LINKED_INCIDENTS}) AS g", {
        "title": "'bench by hand'", "environment_id": f"{env_array}[g % {len(envs)} + 1]", "severity_id": str(severity),
        "opened_at": f"now() - g * (interval '365 days' / {INCIDENTS - LINKED_INCIDENTS})",
        "detected_at": f"now() - g * (interval '365 days' / {INCIDENTS - LINKED_INCIDENTS})",
        "resolved_at": f"now() - g * (interval '365 days' / {INCIDENTS - LINKED_INCIDENTS}) + interval '1 hour'",
    })  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def _measure(client, url, **headers):
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return best_of(lambda: client.get(url, headers=headers), repeat=5), len(executed)


def run():
    from django.contrib.auth import get_user_model
    from django.test import Client

    from core.models import ApiToken
    from core.tokens import generate
    from deployments.public import Deployment
    from environments.public import Environment
    from incidents.public import Incident

    loaded = load()
    counts = f"{Deployment.objects.count():,} deployments and {Incident.objects.count():,} incidents"
    lines = [f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; loaded {counts} in {loaded:.1f}s"]
    user = get_user_model().objects.create_superuser("bench-dora", "bench@amarise.invalid", "pw-bench-dora")
    client = Client()
    client.force_login(user)
    raw, prefix, digest = generate()
    token = ApiToken.objects.create(name="bench dora", prefix=prefix, digest=digest, owner=user, scopes=["flags:read"])
    production = Environment.objects.get(key="production")
    token.environments.set([production])

    baseline, baseline_queries = _measure(
        client, f"/admin/deployments/deployment/?environment__id__exact={production.pk}"
    )
    lines.append(f"baseline: deployments changelist (production) {baseline * 1000:.1f} ms, {baseline_queries} queries")
    worst = 0.0
    for days in (7, 30, 90):
        took, queries = _measure(client, f"/admin/delivery/dora/?environment=production&days={days}")
        worst = max(worst, took)
        lines.append(ratio_line(f"DORA page, {days} days ({queries} queries)", took * 1000, baseline * 1000,
                                unit="ms", goal="< 300 ms"))  # fmt: skip
    took, queries = _measure(client, "/api/metrics/dora/?environment=production&days=90", Authorization=f"Bearer {raw}")
    worst = max(worst, took)
    lines.append(ratio_line(f"GET /api/metrics/dora/, 90 days ({queries} queries)", took * 1000, baseline * 1000,
                            unit="ms", goal="< 300 ms"))  # fmt: skip
    lines.append(f"slowest {worst * 1000:.1f} ms vs goal {GOAL_SECONDS * 1000:.0f} ms: "
                 f"{'met' if worst < GOAL_SECONDS else 'MISSED'}")  # fmt: skip
    return lines
