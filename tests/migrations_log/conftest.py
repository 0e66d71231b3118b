"""Real PostgreSQL databases stand in for dev's, staging's and production's databases.

Their URLs go into process variables at import, before any Celery worker starts, so the worker
process inherits them as a deployed worker inherits DEV_DATABASE_URL and the like.
"""

import os
import zlib
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings

from tests.conftest import database_url_for
from tests.deployments.conftest import haproxy, shoppers, slots  # noqa: F401  (fixtures reused for the engine tests)

KEYS = ("dev", "staging", "production")
_BASE = database_url_for(settings.DATABASES["default"])
# One set per console database, so parallel suites on other databases never share stand-ins.
_SUFFIX = f"{zlib.crc32(settings.DATABASES['default']['NAME'].encode()):08x}"


def standin_name(key):
    return f"amarise_ops_migrations_log_{key}_{_SUFFIX}"


def variable(key):
    return f"MIGRATIONS_LOG_TEST_{key.upper()}_DATABASE_URL"


def standin_url(key):
    return urlunsplit(urlsplit(_BASE)._replace(path=f"/{standin_name(key)}"))


for _key in KEYS:
    os.environ[variable(_key)] = standin_url(_key)


def target_sql(key, query, params=None):
    with psycopg.connect(standin_url(key), autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else None


@pytest.fixture(scope="session")
def standin_databases():
    admin = urlunsplit(urlsplit(_BASE)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        for key in KEYS:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [standin_name(key)]).fetchone():
                conn.execute(f'CREATE DATABASE "{standin_name(key)}"')
    return {key: standin_url(key) for key in KEYS}


def staging_refreshed(ago):
    """Staging's data refreshed from production `ago` before now (§6: a staging run tests production-like data)."""
    from django.utils import timezone

    from environments.models import Environment
    from refreshes.models import RefreshRun

    RefreshRun.objects.filter(environment__key="staging").delete()
    if ago is not None:
        RefreshRun.objects.create(kind="staging_refresh", environment=Environment.objects.get(key="staging"),
                                  status="succeeded", finished_at=timezone.now() - ago)  # fmt: skip


def _reset_targets():
    from datetime import timedelta

    from migrations_log.models import MigrationTarget

    staging_refreshed(timedelta(hours=1))

    for key in KEYS:
        # A production-like schema the migrations work on; everything else from earlier tests goes.
        target_sql(
            key,
            "DROP SCHEMA public CASCADE; CREATE SCHEMA public; DROP SCHEMA IF EXISTS amarise_ops CASCADE; "
            "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric NOT NULL, gift_note text, legacy_code text); "
            "CREATE TABLE legacy_carts (id bigint PRIMARY KEY); "
            "INSERT INTO orders SELECT g, g * 1.5, NULL, 'x' FROM generate_series(1, 1000) g;",
        )
        MigrationTarget.objects.filter(environment__key=key).update(
            database_url_variable=variable(key), lock_timeout_ms=2000, statement_timeout_ms=20000, enabled=True
        )


@pytest.fixture
def targets(seeded, standin_databases):
    _reset_targets()
    return standin_databases


@pytest.fixture
def targets_tx(seeded_tx, standin_databases):
    _reset_targets()
    return standin_databases


@pytest.fixture
def people(db, make_user):
    verifier = make_user("vera", "migrations_log.verify_migration_run", "migrations_log.acknowledge_lint_finding")
    return {"verifier": verifier, "nobody": make_user("nick")}


@pytest.fixture
def enabled_targets(seeded):
    """Targets enabled, for rules that never touch the environments' databases."""
    from migrations_log.models import MigrationTarget

    MigrationTarget.objects.update(enabled=True)
