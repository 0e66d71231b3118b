"""Flags read path against Django's floor, through real HTTP: gunicorn on both sides, `wrk` as the load.

The floor is a bare Django view with no middleware and no apps (bench/floor_settings.py) returning
production's 19 flags. The console runs as in production (DEBUG off, PostgreSQL, Redis, warm cache) and
serves its document GET, a single flag GET, OFREP bulk and OFREP single, each printed as a ratio to the
floor's requests per second, with p50 and p99. Three interleaved rounds (floor, then each endpoint), the
median of each printed with the rounds' range.

Both ways of serving: gunicorn's 2 sync workers (each connection closed after one answer), and
`-k gthread --threads N` (keep-alive, as storefront servers would use it).
Goals (issue 19): document ≥ 0.8× the floor, OFREP bulk ≥ 0.7×, document p99 ≤ 2× the floor's p99.

Knobs: BENCH_WRK_SECONDS (default 4) per run, BENCH_THREADS (default 4) for gthread.
Last, a warm FlagClient.is_enabled in-process against a dict lookup (goal: under 10×).
"""

import http.client
import json
import os
import statistics
from urllib.parse import urlsplit

WORKERS = 2
ROUNDS = 3
OFREP_BODY = json.dumps({"context": {}})
GOALS = {"document": 0.8, "ofrep bulk": 0.7}


def _endpoints(token):
    # (label, method, path, body, token)
    return [
        ("document", "GET", "/api/flags/production/", "", ""),
        ("single flag", "GET", "/api/flags/production/checkoutEnabled/", "", ""),
        ("ofrep bulk", "POST", "/ofrep/v1/evaluate/flags", OFREP_BODY, token),
        ("ofrep single", "POST", "/ofrep/v1/evaluate/flags/checkoutEnabled", OFREP_BODY, token),
    ]


def _production_token():
    from django.contrib.auth import get_user_model

    from core.models import ApiToken
    from core.tokens import generate
    from environments.models import Environment

    owner = get_user_model().objects.get_or_create(username="bench-storefront", defaults={"is_staff": False})[0]
    raw, prefix, digest = generate()
    token = ApiToken.objects.create(
        name="bench storefront", prefix=prefix, digest=digest, owner=owner, scopes=["flags:read"]
    )
    token.environments.set(Environment.objects.filter(key="production"))
    return raw


def _request(url, method="GET", body="", token=""):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": "application/json"} if body else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, parts.path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _check_floor_matches(floor, console):
    _, floor_body = _request(floor.url + "/api/flags/production/")
    status, console_body = _request(console.url + "/api/flags/production/")
    if status != 200:
        raise RuntimeError(f"the console's document answered {status}: {console_body[:200]!r}")
    if json.loads(floor_body)["flags"] != json.loads(console_body)["flags"]:
        raise RuntimeError("bench/floor_settings.py's DOCUMENT no longer matches production's flags: update it")


def _measure(wrk, floor, console, token, seconds):
    """{label: [Load per round]}: the floor and each endpoint in turn, ROUNDS times."""
    endpoints = _endpoints(token)
    for _, method, path, body, tok in endpoints:  # warm every worker's caches (document, token) before timing
        status, answer = _request(console.url + path, method, body, tok)
        if status != 200:
            raise RuntimeError(f"{method} {path} answered {status}: {answer[:200]!r}")
        wrk.run(console.url + path, seconds=1, method=method, body=body, token=tok)
    wrk.run(floor.url + "/api/flags/production/", seconds=1)
    results = {"floor": []} | {label: [] for label, *_ in endpoints}
    for _ in range(ROUNDS):
        results["floor"].append(wrk.run(floor.url + "/api/flags/production/", seconds=seconds))
        for label, method, path, body, tok in endpoints:
            results[label].append(wrk.run(console.url + path, seconds=seconds, method=method, body=body, token=tok))
    return results


def _table(results, mode):
    floor = results["floor"]
    floor_rps = statistics.median(r.requests_per_second for r in floor)
    floor_p99 = statistics.median(r.p99_ms for r in floor)
    lines = [f"{mode}:", f"  {'endpoint':<34} {'req/s (range)':>21} {'p50 ms':>7} {'p99 ms':>7}  vs floor"]
    for label, loads in results.items():
        rps = [r.requests_per_second for r in loads]
        median_rps = statistics.median(rps)
        p50 = statistics.median(r.p50_ms for r in loads)
        p99 = statistics.median(r.p99_ms for r in loads)
        name = "floor: bare Django view" if label == "floor" else f"console {label}"
        row = f"  {name:<34} {median_rps:>8.0f} ({min(rps):.0f}–{max(rps):.0f}) {p50:>7.2f} {p99:>7.2f}"
        if label != "floor":
            per_round = [c.requests_per_second / f.requests_per_second for c, f in zip(loads, floor, strict=True)]
            ratio = median_rps / floor_rps
            row += f"  {ratio:.2f}x (rounds {min(per_round):.2f}–{max(per_round):.2f})"
            if label in GOALS:
                row += f" goal ≥ {GOALS[label]}: {'met' if ratio >= GOALS[label] else 'MISSED'}"
            if label == "document":
                p99_ratio = p99 / floor_p99 if floor_p99 else float("inf")
                row += f"; p99 {p99_ratio:.2f}x goal ≤ 2: {'met' if p99_ratio <= 2 else 'MISSED'}"
        if errors := sum(r.socket_errors for r in loads):
            row += f"  ({errors} socket errors)"
        lines.append(row)
    return lines


def run():
    from bench.servers import Gunicorn, Wrk, console_env

    seconds = int(os.environ.get("BENCH_WRK_SECONDS", "4"))
    threads = int(os.environ.get("BENCH_THREADS", "4"))
    token = _production_token()
    wrk = Wrk(threads=2, connections=16)
    lines = [f"wrk -t2 -c16 -d{seconds}s, {ROUNDS} interleaved rounds, gunicorn {WORKERS} workers on each side"]
    for mode, worker_threads in (
        ("sync workers (no keep-alive)", 0),
        (f"gthread, {threads} threads (keep-alive)", threads),
    ):
        floor_env = {**os.environ, "LOG_LEVEL": "WARNING"}
        with (
            Gunicorn("bench.floor_wsgi:application", env=floor_env, workers=WORKERS, threads=worker_threads,
                     name="floor") as floor,
            Gunicorn("amarise_ops.wsgi:application", env=console_env(), workers=WORKERS, threads=worker_threads,
                     name="console") as console,
        ):  # fmt: skip
            _check_floor_matches(floor, console)
            lines += _table(_measure(wrk, floor, console, token, seconds), mode)
            if worker_threads == 0:
                lines += _client_lines(console.url)
    _forget_bench_documents()
    return lines


def _client_lines(url):
    from bench.harness import best_of, ratio_line
    from flags.client import FlagClient

    client = FlagClient(url, "production", ttl=3600)
    assert client.is_enabled("checkoutEnabled") is True, "the client could not read the bench server"
    plain = dict(client.all())
    number = 200_000
    client_time = best_of(lambda: client.is_enabled("checkoutEnabled"), repeat=5, number=number)
    dict_time = best_of(lambda: plain.get("checkoutEnabled", False), repeat=5, number=number)
    return [
        ratio_line(
            "warm FlagClient.is_enabled vs dict lookup", client_time * 1e9, dict_time * 1e9, unit="ns", goal="< 10x"
        )  # fmt: skip
    ]


def _forget_bench_documents():
    # The bench's documents came from its own database: do not leave them for a console sharing this Redis.
    from django.core.cache import cache

    from flags.documents import document_key

    try:
        cache.delete_many([document_key(k) for k in ("local", "dev", "staging", "production")])
    except Exception:  # noqa: S110 - no cache, nothing left behind
        pass
