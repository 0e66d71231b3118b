"""Fixtures of the secrets tests.

moto's server mode stands in for AWS Secrets Manager, the paid cloud service: one server per test module on a
free port, reset before each test. Everything else is real: PostgreSQL, Redis, a Celery worker process, and a
PostgreSQL cluster of these tests' own (tests/secrets_registry/cluster.py) for the role-password rotation.
"""

import os
import uuid
from importlib import import_module

import pytest
import requests
from django.db import transaction

from core.seeding import SeedReport

REGION, DR_REGION = "eu-west-1", "eu-central-1"
ADMIN_URL_VARIABLE = "OPS_SECRETS_TEST_ADMIN_URL"
INITIAL_PASSWORD = "initial-" + uuid.uuid4().hex
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
           "AWS_DEFAULT_REGION": REGION}  # fmt: skip


@pytest.fixture(scope="module")
def moto_server():
    """moto's Secrets Manager, standing in for AWS (a paid third party), on a free port for this module."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in AWS_ENV}
    os.environ.update(AWS_ENV)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def moto_url(moto_server, settings):
    """A clean moto for each test, and this process's settings pointed at it."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    settings.OPS_SECRETS_ENDPOINT_URL = moto_server
    settings.OPS_SECRETS_REGION = REGION
    settings.OPS_SECRETS_DR_REGION = DR_REGION
    return moto_server


@pytest.fixture
def manager(moto_url):
    from secrets_registry.drivers import manager

    return manager()


def _seed():
    """Only the environments, this app, and the incident severities a critical alert opens its incident with:
    seed_all of every app takes seconds per test."""
    report = SeedReport()
    with transaction.atomic():
        for app in ("environments", "incidents", "secrets_registry"):
            import_module(f"{app}.seeds").seed(report)
    return report


@pytest.fixture
def secrets_seeded(db, moto_url):
    return _seed()


@pytest.fixture
def secrets_seeded_tx(transactional_db, moto_url):
    return _seed()


def provision(manager, references, *, replicate=True):
    """Create each reference's secret in (moto's) manager, replicated to the DR region, as infrastructure would."""
    for reference in references:
        manager.create(reference.name, value=f"placeholder for {reference.variable}",
                       replica_regions=(DR_REGION,) if replicate else ())  # fmt: skip


@pytest.fixture(scope="module")
def role_cluster():
    from tests.secrets_registry.cluster import start_role_cluster

    cluster = start_role_cluster(INITIAL_PASSWORD)
    yield cluster
    cluster.stop()


@pytest.fixture
def secrets_worker(worker, moto_url, role_cluster):
    """The session's worker, restarted once with this module's manager endpoint and admin URL in its environment."""
    needed = {**AWS_ENV, "OPS_SECRETS_ENDPOINT_URL": moto_url, "OPS_SECRETS_REGION": REGION,
              "OPS_SECRETS_DR_REGION": DR_REGION, ADMIN_URL_VARIABLE: role_cluster.admin_url}  # fmt: skip
    if any(worker.env.get(k) != v for k, v in needed.items()) or worker.process.poll() is not None:
        worker.env.update(needed)
        worker.stop()
        worker.start()
    return worker
