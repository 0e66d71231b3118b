"""Fixtures of the refreshes tests: small real databases on the test PostgreSQL server.

Every database here is named amarise_ops_refreshes_t<pid>_*, and dropped at the end of the session.
The worker process copies os.environ when it starts, so the variables are set at import time.
"""

import os
from unittest import mock

import psycopg
import pytest
from psycopg import sql

from refreshes import pg, services
from refreshes.sample import generate

PREFIX = f"amarise_ops_refreshes_t{os.getpid()}_"
SERVER = "postgres://postgres@127.0.0.1:5432/"
KEY_VAR = "OPS_TEST_REFRESHES_KEY"
OTHER_KEY_VAR = "OPS_TEST_REFRESHES_OTHER_KEY"
VARS = {
    "production": "OPS_TEST_REFRESHES_PRODUCTION_URL",
    "staging": "OPS_TEST_REFRESHES_STAGING_URL",
    "dev": "OPS_TEST_REFRESHES_DEV_URL",
}
os.environ.setdefault(KEY_VAR, "test-masking-key-0123456789")
os.environ.setdefault(OTHER_KEY_VAR, "another-masking-key-9876543210")
for _key, _var in VARS.items():
    os.environ.setdefault(_var, f"{SERVER}{PREFIX}{_key}")

CUSTOMERS = 120
SYSTEM = {"pg_catalog", "information_schema"}


def db_url(name):
    return f"{SERVER}{name}"


def admin_conn():
    return psycopg.connect(f"{SERVER}postgres", autocommit=True)


def drop(name):
    with admin_conn() as conn:
        pg.drop_database(conn, name)


def databases_like(fragment):
    with admin_conn() as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"%{fragment}%"]).fetchall()
    return sorted(r[0] for r in rows)


def query(name, statement, params=None):
    with psycopg.connect(db_url(name)) as conn:
        return conn.execute(statement, params).fetchall()


def build_sample(name, customers=CUSTOMERS):
    """The generator itself: the command's guard would (rightly) refuse to write to the test production."""
    drop(name)
    with admin_conn() as conn:
        pg.create_database(conn, name, private=False)
    with psycopg.connect(db_url(name)) as conn:
        return generate.build(conn, customers=customers)


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases():
    yield
    for name in databases_like(PREFIX):
        drop(name)


@pytest.fixture(scope="session")
def _production_db():
    name = f"{PREFIX}production"
    build_sample(name)
    return name


@pytest.fixture
def production(_production_db):
    """The small production database (the read-only source), built once per session. Do not change it."""
    return _production_db


@pytest.fixture
def mutable_production(_production_db):
    """Production for a test that changes it (a new column, new values): rebuilt afterwards."""
    yield _production_db
    build_sample(_production_db)


@pytest.fixture
def staging_name():
    name = f"{PREFIX}staging"
    drop(name)
    return name


@pytest.fixture
def dev_name():
    name = f"{PREFIX}dev"
    drop(name)
    return name


def _point_targets():
    from refreshes.models import DataTarget

    for key, var in VARS.items():
        DataTarget.objects.filter(environment__key=key).update(dsn_env_var=var, masking_key_env_var=KEY_VAR)


@pytest.fixture
def targets(seeded):
    _point_targets()


@pytest.fixture
def targets_tx(seeded_tx):
    _point_targets()


def text_of_database(name):
    """Every text value of every table and materialized view in every schema but PostgreSQL's own, as one string:
    for independent checks of what leaked."""
    with psycopg.connect(db_url(name)) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables UNION ALL SELECT schemaname, matviewname FROM pg_matviews"
        ).fetchall()
        tables = [(schema, name) for schema, name in tables if schema not in SYSTEM and not schema.startswith("pg_")]
        parts = []
        for table in tables:
            for (row,) in conn.execute(sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(*table))):
                parts.append(row)
    return "\n".join(parts)


def run_directly(kind, *, until=None):
    """Create a run and run its steps in this process, in order, up to and including `until`."""
    from refreshes.choices import STEPS
    from refreshes.models import RefreshRun

    # Not enqueued: in a transactional test a running worker would take the same steps at the same time.
    with mock.patch.object(services, "enqueue"):
        run = services.start_run(kind=kind, requested_by="test")
    for name in STEPS[kind]:
        services.run_step(run_id=run.pk, step_name=name)
        if name == until:
            break
    return RefreshRun.objects.get(pk=run.pk)


def count(name, table):
    return query(name, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))[0][0]
