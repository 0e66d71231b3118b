"""Migrations as a deployment step, through a real Celery worker and the real engine: after the idle slot is
deployed, before any traffic moves."""

import pytest

from deployments import services as deployments
from deployments.choices import DeploymentStatus as S
from deployments.drivers.haproxy import HAProxyBalancer
from deployments.models import Deployment
from migrations_log.choices import RunActor, RunStatus
from migrations_log.models import MigrationRun
from migrations_log.services import register_release, report_tested_locally
from tests.conftest import wait_until
from tests.deployments.conftest import configure_staging
from tests.migrations_log.conftest import target_sql
from tests.migrations_log.helpers import BASE, release

pytestmark = pytest.mark.worker


@pytest.fixture
def staging(targets_tx, haproxy, slots, worker):
    return configure_staging(haproxy, slots)


def _deploy(staging, files):
    register_release(version="2.0", files=files, ref="release/2.0", ref_kind="branch")
    report_tested_locally(version="2.0")
    return deployments.start_deployment(release=release("2.0"), environment=staging)


def _final(deployment):
    def done():
        deployment.refresh_from_db()
        return deployment.status in {S.SUCCEEDED, S.FAILED, S.ROLLED_BACK, S.ABORTED}

    wait_until(done, timeout=60, what=f"deployment #{deployment.pk} to finish")
    return deployment


def test_deployment__pending_migrations__applied_by_the_worker_before_traffic(staging, shoppers):
    deployment = _deploy(staging, BASE)
    assert list(deployment.steps.values_list("name", flat=True))[:3] == ["deploy", "apply_migrations", "smoke_tests"]

    _final(deployment)

    assert deployment.status == S.SUCCEEDED
    runs = list(MigrationRun.objects.order_by("started_at"))
    assert [(r.migration.identifier, r.status, r.actor, r.deployment_id) for r in runs] == [
        ("0001_add_gift_wrap", RunStatus.APPLIED, RunActor.DEPLOYMENT, deployment.pk),
        ("0002_create_wishlists", RunStatus.APPLIED, RunActor.DEPLOYMENT, deployment.pk),
    ]
    assert all(r.duration_seconds > 0 for r in runs)
    step = deployment.steps.get(name="apply_migrations")
    # The migrations finished before the first traffic step began.
    assert step.finished_at <= deployment.steps.get(name="traffic_10").started_at
    assert "0002_create_wishlists: applied in" in step.output
    assert target_sql("staging", "SELECT count(*) FROM wishlists") == [(0,)]


def test_deployment__failing_migration__fails_before_traffic_log_shows_what_applied(staging):
    files = BASE | {
        "0003_backfill.sql": "-- estimate: 1s\nUPDATE orders SET total = total / 0;\n",
        "0004_after.sql": "-- estimate: 1s\nALTER TABLE orders ADD COLUMN after_backfill text;\n",
    }
    deployment = _deploy(staging, files)

    _final(deployment)

    assert deployment.status == S.FAILED
    assert (
        "apply_migrations failed before any traffic moved" in deployment.events.filter(kind="transition").last().detail
    )
    statuses = dict(MigrationRun.objects.values_list("migration__identifier", "status"))
    assert statuses == {"0001_add_gift_wrap": "applied", "0002_create_wishlists": "applied", "0003_backfill": "failed"}
    assert "division by zero" in deployment.steps.get(name="apply_migrations").output
    policy = staging.deployment_policy
    stats = HAProxyBalancer(policy.balancer_socket, policy.balancer_backend).stats()
    assert (stats["blue"].weight, stats["green"].weight) == (100, 0)
    assert not Deployment.objects.filter(pk=deployment.pk, traffic_weight__gt=0).exists()
