"""Fixtures for the flags tests: people with and without the production permission, tokens, a clean cache."""

import pytest
from django.core.cache import cache

from flags.models import FlagState
from tests.core.tokens import make_token as new_token
from tests.core.tokens import service_account


def clear_flag_cache():
    # Only our keys: the broker shares this Redis database, so no FLUSHDB.
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match="*ops:flags:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # PBKDF2 at full strength costs ~0.3 s per user; these tests are about flags, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def clean_flag_cache():
    clear_flag_cache()
    yield
    clear_flag_cache()


FLAG_EDITOR = ["flags.change_flagstate", "flags.view_flag", "flags.change_flag", "flags.view_changerequest",
               "flags.change_changerequest"]  # fmt: skip


@pytest.fixture
def alice(make_user):
    """On call, may change production."""
    return make_user("alice", *FLAG_EDITOR, "flags.change_production_flags")


@pytest.fixture
def bob(make_user):
    """Another engineer who may change production: the approver."""
    return make_user("bob", *FLAG_EDITOR, "flags.change_production_flags")


@pytest.fixture
def carol(make_user):
    """May change flags outside production only."""
    return make_user("carol", *FLAG_EDITOR)


def state(key, env):
    return FlagState.objects.select_related("flag", "environment").get(flag__key=key, environment__key=env)


@pytest.fixture
def make_token():
    def make(*, environments, scopes=("flags:read",), owner=None, name="storefront"):
        # A read token belongs to a service account with no permissions: reading flags needs none.
        owner = owner or service_account(f"svc-{name}-{len(made)}")
        made.append(owner)
        return new_token(owner, environments=environments, scopes=scopes, name=name)

    made = []

    return make


def seed_flags():
    """The environments' and flags' seeds only: other apps' seeds are not ours to depend on in these tests."""
    from django.db import transaction

    from core.seeding import SeedReport
    from environments import seeds as environment_seeds
    from flags import seeds as flag_seeds

    report = SeedReport()
    with transaction.atomic():
        environment_seeds.seed(report)
        flag_seeds.seed(report)
    return report


@pytest.fixture
def seeded(db):
    return seed_flags()


@pytest.fixture
def seeded_tx(transactional_db):
    return seed_flags()


@pytest.fixture(scope="module")
def seeded_module(django_db_setup, django_db_blocker):
    """Seed once per module inside a transaction that is rolled back at the end of the module; each test
    then runs in a savepoint inside it. Only for modules without transactional tests (they need commits)."""
    from django.db import transaction

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            report = seed_flags()
            yield report
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
