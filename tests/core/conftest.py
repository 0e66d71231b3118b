"""Fixtures for the authentication tests: one seeded world per module, a clean token cache."""

import pytest
from django.core.cache import cache


@pytest.fixture(scope="module")
def auth_world_module(django_db_setup, django_db_blocker):
    """Environments, flags, a release v1.0 and a staging deployment, seeded once and rolled back at the end."""
    from django.db import transaction

    from core.seeding import SeedReport
    from deployments.models import Deployment, Release
    from environments import seeds as environment_seeds
    from environments.models import Environment
    from flags import seeds as flag_seeds

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            report = SeedReport()
            environment_seeds.seed(report)
            flag_seeds.seed(report)
            release = Release.objects.create(version="v1.0", ref="v1.0", ref_kind="tag")
            deployment = Deployment.objects.create(
                release=release, environment=Environment.objects.get(key="staging"), strategy="rolling"
            )
            yield {"deployment": deployment.pk}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def auth_world(auth_world_module, db):
    return auth_world_module


@pytest.fixture(autouse=True)
def _clean_token_cache():
    yield
    client = getattr(cache, "_cache", None)
    if client is not None and hasattr(client, "get_client"):
        redis = client.get_client(write=True)
        keys = list(redis.scan_iter(match="*ops:auth:*"))
        if keys:
            redis.delete(*keys)
