"""Where the numbers come from: Debian's node, redis and postgres exporters, scraped with the configuration
the console generated; the business metrics through postgres-exporter's custom queries it generated."""

from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from monitoring import config, drivers, services
from monitoring.models import Metric, ScrapeTarget
from tests.conftest import ROOT, database_url_for, wait_until
from tests.monitoring.conftest import engine_settings
from tests.monitoring.engines import Exporter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def commerce_dsn():
    """A scratch commerce database with the sample schema (orders, carts)."""
    base = database_url_for(connection.settings_dict)
    admin, name = base.rsplit("/", 1)[0] + "/postgres", "ops_monitoring_commerce"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = base.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute((ROOT / "refreshes" / "sample" / "schema.sql").read_text())
    yield dsn
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _value(key):
    engine = drivers.prometheus_engine()
    return engine.value(Metric.objects.get(key=key).query(environment="production"))


def test_exporters__infrastructure_and_business_metrics_recorded_per_environment(
    seeded_tx, env, engines, tmp_path, commerce_dsn
):
    production = env("production")
    Metric.objects.filter(key__in=["cpu_usage", "cache_hit_rate"]).update(window="5s")
    with engine_settings(engines):
        services.apply_configuration()  # writes postgres-exporter's queries from the catalog
        queries = Path(settings.OPS_MONITORING_CONFIG_DIR) / config.EXPORTER_QUERIES_FILE
        exporters = [
            Exporter(tmp_path, "prometheus-node-exporter"),
            Exporter(tmp_path, "prometheus-redis-exporter", f"-redis.addr={settings.REDIS_URL}", dash="-"),
            Exporter(tmp_path, "prometheus-postgres-exporter", f"--extend.query-path={queries}",
                     env={"DATA_SOURCE_NAME": commerce_dsn + "?sslmode=disable"}),
        ]  # fmt: skip
        try:
            for kind, exporter in zip(["node", "redis", "postgres"], exporters, strict=True):
                ScrapeTarget.objects.create(environment=production, kind=kind, address=exporter.address)
            services.apply_configuration()
            cache = redis.Redis.from_url(settings.REDIS_URL)
            for i in range(50):  # hits and misses for the cache hit rate
                cache.set(f"monitoring-test-{i}", 1, ex=60)
                cache.get(f"monitoring-test-{i}")
                cache.get(f"monitoring-test-missing-{i}")

            for key in ("cpu_usage", "memory_usage", "disk_usage", "database_connections"):
                value = wait_until(lambda key=key: _value(key) is not None and _value(key), timeout=60,
                                   what=f"{key} through its exporter")  # fmt: skip
                assert value >= 0
            assert 0 < _value("disk_usage") <= 100 and 0 < _value("memory_usage") <= 100

            def hit_rate_recorded():
                # rate() over the 5 s window needs hits and misses between two of the exporter's scrapes: the ones
                # above may all predate its first scrape (then the rate stays 0/0 and this waited its 60 s out).
                cache.get("monitoring-test-0")
                cache.get("monitoring-test-missing-0")
                return _value("cache_hit_rate") is not None

            wait_until(hit_rate_recorded, timeout=60, what="the cache hit rate")

            with psycopg.connect(commerce_dsn, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO orders (id, customer_id, status, contact_email, total_cents, placed_at) "
                    "SELECT g, 1, 'paid', 'a@example.invalid', 4200, now() FROM generate_series(1, 5) g"
                )
            orders = wait_until(lambda: (_value("orders_per_hour") or 0) > 0 and _value("orders_per_hour"),
                                timeout=60, what="orders per hour through postgres-exporter")  # fmt: skip
            assert orders > 0

            # Carts in each checkout state: 2 paid, 1 abandoned at checkout, 1 abandoned before it, 1 just created.
            with psycopg.connect(commerce_dsn, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO carts (id, session_key, status, total_cents, created_at, checkout_started_at, "
                    "updated_at) SELECT g, md5(g::text), s.status, 1000, now(), "
                    "CASE WHEN s.checkout THEN now() END, now() FROM (VALUES (1, 'paid', true), (2, 'paid', true), "
                    "(3, 'abandoned', true), (4, 'abandoned', false), (5, 'created', false)) s(g, status, checkout)"
                )
            abandonment = wait_until(lambda: _value("cart_abandonment_rate"), timeout=60,
                                     what="cart abandonment through postgres-exporter")  # fmt: skip
            assert abandonment == pytest.approx(40.0)
            assert _value("checkout_completion_rate") == pytest.approx(200 / 3)
        finally:
            for exporter in exporters:
                exporter.stop()
