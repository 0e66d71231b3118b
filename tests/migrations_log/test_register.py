"""§6 Forward only: registering a release's migrations; applied ones are never deleted or modified."""

import hashlib
import re

import pytest
from django.core.management import CommandError, call_command

from deployments.models import Release
from environments.models import Environment
from migrations_log.choices import Classification, RunActor, RunStatus
from migrations_log.exceptions import MigrationRefused
from migrations_log.models import Deprecation, LintFinding, Migration, MigrationRun
from migrations_log.services import register_release, release_migrations
from tests.migrations_log.helpers import BASE


def _applied(identifier, *keys):
    from django.utils import timezone

    for key in keys:
        MigrationRun.objects.create(
            migration=Migration.objects.get(identifier=identifier),
            environment=Environment.objects.get(key=key),
            status=RunStatus.APPLIED,
            started_at=timezone.now(),
            duration_seconds=0.1,
            actor=RunActor.DEPLOYMENT,
        )


def test_register_release__new_directory__migrations_recorded_with_checksum_and_order(seeded):
    registered = register_release(version="v2.0", files=BASE)

    assert [m.identifier for m in registered.new] == ["0001_add_gift_wrap", "0002_create_wishlists"]
    first = Migration.objects.get(identifier="0001_add_gift_wrap")
    assert first.sha256 == hashlib.sha256(BASE["0001_add_gift_wrap.sql"].encode()).hexdigest()
    assert first.release.version == "v2.0" and first.release.ref_kind == "tag"
    assert first.classification == Classification.ADDITIVE and first.estimate_seconds == 1.0
    assert release_migrations(Release.objects.get(version="v2.0")).count() == 2


def test_register_release__same_directory_again__unchanged_nothing_new(seeded):
    register_release(version="v2.0", files=BASE)
    again = register_release(version="v2.1", files=BASE)
    assert again.new == [] and len(again.unchanged) == 2
    assert Migration.objects.get(identifier="0001_add_gift_wrap").release.version == "v2.0"
    assert release_migrations(Release.objects.get(version="v2.1")).count() == 2


def test_register_release__modified_applied_migration__refused_naming_environments(seeded):
    register_release(version="v2.0", files=BASE)
    _applied("0001_add_gift_wrap", "dev", "staging")
    edited = BASE | {"0001_add_gift_wrap.sql": "ALTER TABLE orders ADD COLUMN gift_wrap boolean DEFAULT false;\n"}

    with pytest.raises(MigrationRefused) as refused:
        register_release(version="v2.1", files=edited)

    message = str(refused.value)
    assert "0001_add_gift_wrap.sql was modified after it ran on Dev, Staging" in message
    assert "never modified after deployment" in message
    assert not Release.objects.filter(version="v2.1").exists()
    assert Migration.objects.get(identifier="0001_add_gift_wrap").sql == BASE["0001_add_gift_wrap.sql"]


def test_register_release__deleted_applied_migration__refused_naming_environments(seeded):
    register_release(version="v2.0", files=BASE)
    _applied("0002_create_wishlists", "staging")
    without = {"0001_add_gift_wrap.sql": BASE["0001_add_gift_wrap.sql"]}

    with pytest.raises(MigrationRefused, match=r"0002_create_wishlists.sql is missing, but it ran on Staging"):
        register_release(version="v2.1", files=without)

    assert not Release.objects.filter(version="v2.1").exists()


def test_register_release__deleted_migration_never_applied__allowed(seeded):
    register_release(version="v2.0", files=BASE)
    registered = register_release(version="v2.1", files={"0001_add_gift_wrap.sql": BASE["0001_add_gift_wrap.sql"]})
    assert [m.identifier for m in registered.unchanged] == ["0001_add_gift_wrap"]


def test_register_release__modified_never_applied__replaced_and_relinted(seeded):
    register_release(version="v2.0", files=BASE)
    edited = BASE | {"0001_add_gift_wrap.sql": "ALTER TABLE orders ADD COLUMN gift_wrap boolean NOT NULL;\n"}
    registered = register_release(version="v2.0", files=edited)
    migration = Migration.objects.get(identifier="0001_add_gift_wrap")
    assert [m.pk for m in registered.new] == [migration.pk]
    assert "NOT NULL" in migration.sql
    assert migration.findings.filter(rule="adding-required-field", severity="error").exists()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"add_note.sql": "SELECT 1;"}, "name migration files <number>_<name>.sql"),
        ({"0003_bad.sql": "ALTER TABLE orders ADD COLUMN;"}, "0003_bad.sql: PostgreSQL cannot parse it"),
        ({"0003_tx.sql": "BEGIN;\nALTER TABLE orders ADD COLUMN a text;\nCOMMIT;"}, "0003_tx.sql:1: remove BEGIN"),
        (
            {"0003_mixed.sql": "ALTER TABLE orders ADD COLUMN a text;\nCREATE INDEX CONCURRENTLY i ON orders (a);"},
            "0003_mixed.sql:2: “CREATE INDEX CONCURRENTLY i ON orders (a)” cannot run inside a transaction",
        ),
        ({"0003_dep.sql": "-- deprecates column gift_note\nSELECT 1;"}, "write `-- deprecates table <table>`"),
        ({"0003_empty.sql": "-- nothing\n"}, "0003_empty.sql: holds no SQL statement"),
    ],
)
def test_register_release__bad_input__refused_nothing_changed(seeded, files, message):
    with pytest.raises(MigrationRefused, match=re.escape(message)):
        register_release(version="v2.0", files=BASE | files)
    assert not Migration.objects.exists() and not Release.objects.filter(version="v2.0").exists()


def test_register_release__deprecating_and_destructive__classified_and_deprecation_recorded(seeded):
    files = BASE | {
        "0003_deprecate_gift_note.sql": "-- deprecates column orders.gift_note\n"
        "COMMENT ON COLUMN orders.gift_note IS 'deprecated in v2.0';\n",
        "0004_rename.sql": "ALTER TABLE orders RENAME COLUMN total TO amount;\n",
    }
    register_release(version="v2.0", files=files)
    assert Migration.objects.get(identifier="0003_deprecate_gift_note").classification == Classification.DEPRECATING
    assert Migration.objects.get(identifier="0004_rename").classification == Classification.DESTRUCTIVE
    deprecation = Deprecation.objects.get()
    assert (deprecation.kind, deprecation.target, deprecation.release.version) == ("column", "orders.gift_note", "v2.0")


def test_register_release_command__directory__registers_and_prints_findings(seeded, tmp_path, capsys):
    for name, sql in (BASE | {"0003_required.sql": "ALTER TABLE orders ADD COLUMN a text NOT NULL;\n"}).items():
        (tmp_path / name).write_text(sql)
    (tmp_path / "README.md").write_text("not a migration")

    call_command("register_release", "--version", "v2.0", "--migrations", str(tmp_path))

    out = capsys.readouterr().out
    assert "0003_required.sql:1 [error] adding-required-field" in out
    assert "v2.0: 3 new migration(s)" in out
    assert LintFinding.objects.filter(migration__identifier="0003_required").exists()


def test_register_release_command__refusal__command_error_with_the_rule(seeded, tmp_path):
    (tmp_path / "0001_add_gift_wrap.sql").write_text(BASE["0001_add_gift_wrap.sql"])
    call_command("register_release", "--version", "v2.0", "--migrations", str(tmp_path))
    _applied("0001_add_gift_wrap", "production")
    (tmp_path / "0001_add_gift_wrap.sql").write_text("ALTER TABLE orders ADD COLUMN gift_wrap text;\n")
    with pytest.raises(CommandError, match="modified after it ran on Production"):
        call_command("register_release", "--version", "v2.1", "--migrations", str(tmp_path))
    with pytest.raises(CommandError, match="is not a directory"):
        call_command("register_release", "--version", "v2.1", "--migrations", str(tmp_path / "nope"))
