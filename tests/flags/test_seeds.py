"""seed_strategy loads §3: 19 flags, the table's values cell by cell, and §2's rule for the flags the table omits."""

import pytest

from flags import services
from flags.models import Flag, FlagState
from tests.flags.conftest import seed_flags, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(seeded_module, db):
    # Seeded once for this module (no transactional tests here); each test rolls back to that state.
    return seeded_module


# The strategy's "Flag Configuration by Environment" table, copied by hand: local, dev, staging, production.
TABLE = {
    "checkoutEnabled": (True, True, True, True),
    "guestCheckout": (True, True, True, False),
    "preOrders": (True, True, True, False),
    "wishlist": (True, True, True, True),
    "reviews": (True, True, False, False),
    "browseByRitual": (True, True, True, True),
    "journal": (True, True, True, True),
    "darkMode": (True, True, False, False),
    "aiRecommendations": (True, True, False, False),
}
# The flags the table leaves out: Local and Dev on (§2 "all feature flags enabled"), Staging = Production = off.
OMITTED = ["browseByMood", "relatedProducts", "recentlyViewed", "lookbook", "stories", "animations",
           "launchCountdown", "stockIndicator", "arTryOn", "liveChat"]  # fmt: skip
ENVS = ("local", "dev", "staging", "production")


def matrix():
    return {(k, e): v for k, e, v in FlagState.objects.values_list("flag__key", "environment__key", "enabled")}


def test_seed__fresh_database__nineteen_flags_in_five_categories(seeded):
    assert Flag.objects.count() == 19
    assert set(TABLE) | set(OMITTED) == set(Flag.objects.values_list("key", flat=True))
    by_category = {c: set(Flag.objects.filter(category=c).values_list("key", flat=True)) for c in
                   ("commerce", "discovery", "content", "ui", "experimental")}  # fmt: skip
    assert by_category["commerce"] == {"checkoutEnabled", "guestCheckout", "preOrders", "wishlist", "reviews"}
    assert by_category["experimental"] == {"aiRecommendations", "arTryOn", "liveChat"}
    assert Flag.objects.get(key="checkoutEnabled").description == "Master checkout toggle"
    assert Flag.objects.get(key="checkoutEnabled").kind == "kill_switch"


@pytest.mark.parametrize("key", sorted(TABLE))
def test_seed__table_flag__every_cell_equals_the_strategy(seeded, key):
    cells = matrix()
    assert tuple(cells[(key, env)] for env in ENVS) == TABLE[key]


@pytest.mark.parametrize("key", OMITTED)
def test_seed__flag_not_in_the_table__local_dev_on_staging_equals_production_off(seeded, key):
    cells = matrix()
    assert tuple(cells[(key, env)] for env in ENVS) == (True, True, False, False)


def test_seed__every_flag__one_state_per_environment(seeded):
    assert FlagState.objects.count() == 19 * 4
    assert services.drift_report().off_plan == []


def test_reseed__operator_changed_a_value__value_kept_and_reported(seeded, alice):
    services.set_state(state_id=state("reviews", "staging").pk, enabled=True, actor=alice, reason="UAT of reviews")
    report = seed_flags()
    assert state("reviews", "staging").enabled is True
    assert any("reviews" in line or "enabled" in line for line in report.kept)
    assert not report.created


def test_reseed__nothing_changed__nothing_written(seeded):
    history = FlagState.history.count()
    report = seed_flags()
    assert not report.changed
    assert FlagState.history.count() == history


def test_seed__scheduled_changes_poll__seeded_on_beat(seeded):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="Apply scheduled flag changes")
    assert task.task == "flags.apply_due_scheduled_changes" and task.enabled
