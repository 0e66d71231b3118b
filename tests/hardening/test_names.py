"""Release versions and refs, migration file names and migration targets: refused with a clear message,
nothing changed."""

import pytest
from django.core.exceptions import ValidationError

from deployments.exceptions import DeploymentRefused
from deployments.models import Release
from deployments.services import create_release
from environments.models import Environment
from migrations_log.exceptions import MigrationRefused
from migrations_log.models import Migration, MigrationTarget, target_variable_problem
from migrations_log.services import register_release

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("version", "ref", "field"),
    [("v2..0", "v2.0", "version"), ("v2.0", "release/2.0:evil", "ref"), ("v2.0", "-rf", "ref"),
     ("v2 0", "main", "version"), ("v2.0", "a@{1}", "ref"), ("v2.0", "release/.x", "ref")],
)  # fmt: skip
def test_create_release__not_a_git_ref__refused_naming_the_field_nothing_created(version, ref, field):
    # When a release is created with a version or ref git would refuse
    with pytest.raises(DeploymentRefused, match=rf"{field}: Not a valid git ref name"):
        create_release(version=version, ref=ref, ref_kind="branch")
    # Then nothing is created
    assert not Release.objects.exists()


def test_create_release__git_ref_names__accepted():
    release = create_release(version="main@abc1234", ref="release/2.0", ref_kind="branch")
    assert Release.objects.get(pk=release.pk).ref == "release/2.0"


def test_register_release__version_not_a_git_ref__refused_before_anything():
    with pytest.raises(MigrationRefused, match=r"release version 'v2\.\.0' is not a valid git ref name"):
        register_release(version="v2..0", files={"0001_add_note.sql": "SELECT 1;"})
    assert not Release.objects.exists() and not Migration.objects.exists()


@pytest.mark.parametrize("name", ["0001_add_note.sql\n", "0001_add_note.sql\n.sh", "\n0001_add_note.sql"])
def test_register_release__file_name_with_a_newline__refused(name):
    # `$` would accept "0001_add_note.sql\n": the rule anchors on \Z
    with pytest.raises(MigrationRefused, match="name migration files <number>_<name>.sql"):
        register_release(version="v2.0", files={name: "SELECT 1;"})
    assert not Release.objects.exists()


def test_migration_identifier__trailing_newline__refused_by_the_model():
    with pytest.raises(ValidationError) as caught:
        Migration(identifier="0001_add_note\n").clean_fields(exclude=["release", "sequence", "sql", "sha256",
                                                                      "classification"])  # fmt: skip
    assert "identifier" in caught.value.message_dict


@pytest.mark.parametrize(
    ("variable", "key", "ok"),
    [("STAGING_DATABASE_URL", "staging", True), ("ACME_STAGING_DATABASE_URL", "staging", True),
     ("PRODUCTION_DATABASE_URL", "staging", False), ("DATABASE_URL", "staging", False),
     ("PRODUCTION_STAGING_DATABASE_URL", "staging", False), ("STAGING_DATABASE_URL_OLD", "staging", False),
     ("DEV_DATABASE_URL", "dev", True)],
)  # fmt: skip
def test_target_variable_problem__own_environment_only(variable, key, ok):
    problem = target_variable_problem(variable, key, ["dev", "staging", "production", "local"])
    assert (problem == "") is ok, problem


def test_migration_target_clean__another_environments_variable__refused(seeded):
    target = MigrationTarget(environment=Environment.objects.get(key="staging"),
                             database_url_variable="PRODUCTION_DATABASE_URL")  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        target.clean()
    assert "must be STAGING_DATABASE_URL" in caught.value.message_dict["database_url_variable"][0]
