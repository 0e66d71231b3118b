"""Issue 19: a release's migration set is what its directory held when last registered, stored once per change
(spans of registration numbers), not as a whole copy per release."""

import random

from deployments.choices import DeploymentStatus, Strategy
from deployments.models import Deployment, Release
from environments.models import Environment
from migrations_log.models import Deprecation, Migration, MigrationSet, MigrationSpan
from migrations_log.services import (
    deprecation_in_production,
    register_release,
    release_migrations,
    releases_holding,
    releases_with_migrations,
)
from migrations_log.spans import spans_from_sets
from tests.migrations_log.helpers import BASE, release

THIRD = {"0003_add_gift_card.sql": "-- estimate: 1s\nALTER TABLE orders ADD COLUMN gift_card text;\n"}


def _set(version):
    return [m.identifier for m in release_migrations(Release.objects.get(version=version))]


def _holding(identifier):
    return sorted(r.version for r in releases_holding(Migration.objects.get(identifier=identifier)))


def _migrations(n, release):
    return [
        Migration.objects.create(
            identifier=f"{i:04d}_step",
            sequence=i,
            release=release,
            sql="SELECT 1;",
            sha256="0" * 64,
            classification="additive",
        )  # fmt: skip
        for i in range(1, n + 1)
    ]


# --- A release's set, through registration ---------------------------------------------------------------------


def test_set__added_then_removed_file__each_release_keeps_what_its_directory_held(seeded):
    # Given v1 with two files, v2 adding a third, v3 without the second (never applied: allowed)
    register_release(version="v1", files=BASE)
    register_release(version="v2", files=BASE | THIRD)
    register_release(version="v3", files={"0001_add_gift_wrap.sql": BASE["0001_add_gift_wrap.sql"]} | THIRD)

    # Then each release's set is its own directory, in the order migrations apply
    assert _set("v1") == ["0001_add_gift_wrap", "0002_create_wishlists"]
    assert _set("v2") == ["0001_add_gift_wrap", "0002_create_wishlists", "0003_add_gift_card"]
    assert _set("v3") == ["0001_add_gift_wrap", "0003_add_gift_card"]
    # And a migration is held by exactly the releases whose directory had it
    assert _holding("0002_create_wishlists") == ["v1", "v2"]
    assert _holding("0003_add_gift_card") == ["v2", "v3"]
    # And only the changes were stored: 0001 once, 0002 once (closed), 0003 once
    assert MigrationSpan.objects.count() == 3


def test_set__older_release_registered_again__only_its_set_changes(seeded):
    # Given v1 and v2 registered
    register_release(version="v1", files=BASE)
    register_release(version="v2", files=BASE | THIRD)
    # When v1 is registered again with the third file only added
    register_release(version="v1", files={"0001_add_gift_wrap.sql": BASE["0001_add_gift_wrap.sql"]} | THIRD)

    # Then v1's set is its new directory, and v2's is untouched
    assert _set("v1") == ["0001_add_gift_wrap", "0003_add_gift_card"]
    assert _set("v2") == ["0001_add_gift_wrap", "0002_create_wishlists", "0003_add_gift_card"]
    assert _holding("0002_create_wishlists") == ["v2"]
    # And v1 took a number after v2's: the latest registration is the one the next is compared with
    assert MigrationSet.objects.get(release__version="v1").seq > MigrationSet.objects.get(release__version="v2").seq
    register_release(version="v3", files=BASE | THIRD)
    assert _set("v3") == ["0001_add_gift_wrap", "0002_create_wishlists", "0003_add_gift_card"]
    assert _holding("0002_create_wishlists") == ["v2", "v3"]


def test_set__registered_empty__holds_nothing_and_is_not_listed_as_having_migrations(seeded):
    register_release(version="v1", files=BASE)
    register_release(version="v1", files={})  # nothing ran anywhere: dropping every file is allowed

    assert _set("v1") == []
    assert not releases_with_migrations().filter(version="v1").exists()
    assert _holding("0001_add_gift_wrap") == []


def test_set__release_never_registered__holds_nothing(seeded):
    register_release(version="v1", files=BASE)
    assert list(release_migrations(release("9.9"))) == []
    assert _holding("0001_add_gift_wrap") == ["v1"]


# --- Storage grows with changes, not with releases --------------------------------------------------------------


def test_storage__fifty_releases_each_adding_one_migration__fifty_spans_not_1275_rows(db):
    # Given 50 releases, each registering the directory of the one before plus one new migration
    releases = [Release.objects.create(version=f"v{i}", ref=f"v{i}", ref_kind="tag") for i in range(1, 51)]
    migrations = _migrations(50, releases[0])
    for i, each in enumerate(releases, start=1):
        MigrationSet.record(each, migrations[:i])

    # Then the sets hold 1 + 2 + … + 50 = 1,275 memberships, stored as 50 spans
    assert sum(MigrationSet.objects.values_list("size", flat=True)) == 1275
    assert MigrationSpan.objects.count() == 50
    # And every answer is the whole copy's answer
    assert [m.pk for m in release_migrations(releases[9])] == [m.pk for m in migrations[:10]]
    assert list(releases_holding(migrations[0]).order_by("pk")) == releases
    assert list(releases_holding(migrations[49])) == [releases[49]]


def test_storage__same_directory_registered_again__costs_no_span(db):
    releases = [Release.objects.create(version=f"v{i}", ref=f"v{i}", ref_kind="tag") for i in range(1, 11)]
    migrations = _migrations(3, releases[0])
    for each in releases:
        MigrationSet.record(each, migrations)
    assert MigrationSpan.objects.count() == 3
    assert all(release_migrations(each).count() == 3 for each in releases)


# --- The deprecation-in-production rule reads the sets ----------------------------------------------------------

V1 = BASE | {
    "0003_deprecate_old.sql": "-- estimate: 1s\n-- deprecates column orders.gift_note\n"
    "COMMENT ON COLUMN orders.gift_note IS 'deprecated';\n"
}
V2 = V1 | {"0004_drop_old.sql": "-- estimate: 1s\nALTER TABLE orders DROP COLUMN gift_note;\n"}


def _in_production(version):
    Deployment.objects.create(
        release=release(version, "tag"),
        environment=Environment.objects.get(key="production"),
        strategy=Strategy.BLUE_GREEN,
        status=DeploymentStatus.SUCCEEDED,
    )


def test_deprecation_in_production__only_a_release_holding_the_deprecation_without_the_drop_counts(seeded):
    register_release(version="v1.0", files=BASE)
    register_release(version="v1.1", files=V1)
    register_release(version="v2.0", files=V2)
    deprecation = Deprecation.objects.get(table="orders", column="gift_note")
    drop = Migration.objects.get(identifier="0004_drop_old")

    # A production release without the deprecation does not count
    _in_production("v1.0")
    assert not deprecation_in_production(deprecation, dropping=drop)
    # Nor one holding the drop as well
    _in_production("v2.0")
    assert not deprecation_in_production(deprecation, dropping=drop)
    # One holding the deprecation, not the drop, does
    _in_production("v1.1")
    assert deprecation_in_production(deprecation, dropping=drop)
    # Until that release is registered again with the drop in its directory: its set is the latest one
    register_release(version="v1.1", files=V2)
    assert not deprecation_in_production(deprecation, dropping=drop)


# --- Converting the old whole copies (migration 0007) -----------------------------------------------------------


def test_conversion__sets_in_registration_order__numbered_and_stored_as_their_changes():
    # Given the whole copies of four releases (r4 registered nothing, so it has no rows and is not given)
    sets = [("r1", [1, 2]), ("r2", [1, 2, 3]), ("r3", [1, 3]), ("r5", [1, 3, 4, 2])]

    numbered, spans = spans_from_sets(sets)

    # Then each release gets the next number and its size
    assert numbered == [("r1", 1, 2), ("r2", 2, 3), ("r3", 3, 2), ("r5", 4, 4)]
    # And each run of consecutive sets holding a migration is one span; 2 left at r3 and came back at r5
    assert sorted(spans, key=lambda s: (s[0], s[1])) == [(1, 1, None), (2, 1, 2), (2, 4, None), (3, 2, None),
                                                         (4, 4, None)]  # fmt: skip


def test_conversion__nothing_to_convert__nothing_stored():
    assert spans_from_sets([]) == ([], [])


def test_conversion__any_sets__each_set_is_exactly_the_spans_covering_its_number():
    # Given 200 random sets over 30 migrations, each a few changes from the one before
    chooser = random.Random(19)  # noqa: S311 - a repeatable sample, not a secret
    current, sets = set(), []
    for release_key in range(200):
        for _ in range(chooser.randint(0, 3)):
            current ^= {chooser.randint(1, 30)}
        sets.append((release_key, sorted(current)))

    numbered, spans = spans_from_sets(sets)

    for (key, members), (numbered_key, seq, size) in zip(sets, numbered, strict=True):
        held = {m for m, first, last in spans if first <= seq and (last is None or seq <= last)}
        assert (numbered_key, held, size) == (key, set(members), len(members))
    # And storage follows the changes: at most one span opened per change, never one per release and migration
    changes = sum(len(set(a[1]) ^ set(b[1])) for a, b in zip([(None, [])] + sets, sets, strict=False))
    assert len(spans) <= changes < sum(len(m) for _, m in sets)


def test_conversion__loaded__services_answer_as_the_old_rows_did(db):
    # Given old rows for three releases, converted and stored as migration 0007 stores them
    releases = [Release.objects.create(version=f"v{i}", ref=f"v{i}", ref_kind="tag") for i in range(1, 4)]
    m = _migrations(4, releases[0])
    old_rows = {releases[0]: [m[0], m[1]], releases[1]: [m[0], m[2]], releases[2]: [m[0], m[1], m[3]]}
    numbered, spans = spans_from_sets((r.pk, [x.pk for x in ms]) for r, ms in old_rows.items())
    MigrationSet.objects.bulk_create(MigrationSet(release_id=r, seq=seq, size=size) for r, seq, size in numbered)
    MigrationSpan.objects.bulk_create(MigrationSpan(migration_id=x, first_seq=f, last_seq=la) for x, f, la in spans)

    # Then every release's set and every migration's releases are the old rows' answers
    for each, members in old_rows.items():
        assert list(release_migrations(each)) == members
    assert list(releases_holding(m[1]).order_by("pk")) == [releases[0], releases[2]]
    assert list(releases_holding(m[2])) == [releases[1]]
