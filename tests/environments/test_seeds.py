"""seed_strategy loads §1, §2 and §7 of the strategy, and never undoes an operator's edit."""

import re

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from core.seeding import seed_all
from environments.models import Environment, RequiredVariable

pytestmark = pytest.mark.django_db


def test_seed__fresh_database__four_environments_in_promotion_order(seeded):
    assert list(Environment.objects.values_list("key", flat=True)) == ["local", "dev", "staging", "production"]
    assert list(Environment.objects.values_list("url", flat=True)) == [
        "http://localhost:5173",
        "https://dev.amarise.com",
        "https://staging.amarise.com",
        "https://amarise.com",
    ]


@pytest.mark.parametrize(
    ("key", "source", "trigger", "strategy", "data", "payments"),
    [
        ("local", "none", "none", "none", "mock", "stripe_test"),
        ("dev", "main_branch", "auto_on_merge", "direct", "reset_nightly", "stripe_test"),
        ("staging", "release_branches", "manual", "blue_green", "anonymized_weekly", "stripe_test"),
        ("production", "release_tags", "manual", "blue_green", "real_customer_data", "stripe_live"),
    ],
)
def test_seed__each_environment__matches_the_strategy(seeded, key, source, trigger, strategy, data, payments):
    env = Environment.objects.get(key=key)
    assert (env.deploy_source, env.deploy_trigger, env.deployment_strategy) == (source, trigger, strategy)
    assert (env.data_policy, env.payments) == (data, payments)


def test_seed__production__encrypted_backed_up_monitored(seeded):
    production = Environment.objects.get(key="production")
    assert production.encrypted_at_rest and production.backups_enabled
    assert production.monitoring_enabled and production.alerting_enabled
    assert production.email == "production"
    assert Environment.objects.get(key="staging").email == "sandbox_capture"
    assert not Environment.objects.get(key="local").health_check_enabled


def test_seed__required_variables__scoped_as_in_section_7(seeded):
    def names(key):
        return set(RequiredVariable.objects.filter(environment__key=key).values_list("name", flat=True))

    common = {"DATABASE_URL", "API_URL", "SITE_URL"}
    assert names("production") == common | {"STRIPE_SECRET_KEY", "EMAIL_API_KEY", "STORAGE_BUCKET", "ANALYTICS_ID"}
    assert names("staging") == common
    assert names("dev") == names("local") == common | {"DEBUG", "VERBOSE_LOGGING"}
    debug = RequiredVariable.objects.get(environment__key="dev", name="DEBUG")
    assert debug.expected_value == "true" and debug.scope == "development_only"
    assert RequiredVariable.objects.get(environment__key="production", name="STRIPE_SECRET_KEY").secret


def test_seed__health_check_schedule__seeded_and_enabled(seeded):
    task = PeriodicTask.objects.get(task="environments.check_environment_health")
    assert task.enabled and task.interval.every == 60


def _snapshot():
    return (
        list(Environment.objects.order_by("pk").values()),
        list(RequiredVariable.objects.order_by("pk").values()),
        list(PeriodicTask.objects.order_by("pk").values("name", "task", "enabled", "interval_id")),
        Environment.history.count(),
    )


def test_seed__run_twice__changes_nothing(seeded):
    before = _snapshot()
    report = seed_all()
    assert not report.changed and not report.kept
    assert _snapshot() == before


def test_seed__operator_edits__survive_a_reseed(seeded):
    staging = Environment.objects.get(key="staging")
    staging.url = "https://uat.amarise.com"
    staging.save()
    RequiredVariable.objects.filter(environment__key="dev", name="DEBUG").update(expected_value="1")
    PeriodicTask.objects.filter(task="environments.check_environment_health").update(enabled=False)
    RequiredVariable.objects.filter(environment__key="staging", name="API_URL").delete()

    report = seed_all()

    assert Environment.objects.get(key="staging").url == "https://uat.amarise.com"
    assert RequiredVariable.objects.get(environment__key="dev", name="DEBUG").expected_value == "1"
    assert not PeriodicTask.objects.get(task="environments.check_environment_health").enabled
    assert any("url" in line for line in report.kept)
    assert not RequiredVariable.objects.filter(environment__key="staging", name="API_URL").exists()
    assert "required variable Staging API_URL: deleted" in report.kept


def test_seed__strategy_changes_an_untouched_value__it_is_updated(seeded, monkeypatch):
    from environments import strategy

    changed = [dict(e, purpose="Shared sandbox") if e["key"] == "dev" else e for e in strategy.ENVIRONMENTS]
    monkeypatch.setattr(strategy, "ENVIRONMENTS", changed)

    report = seed_all()

    assert Environment.objects.get(key="dev").purpose == "Shared sandbox"
    assert report.updated == ["environment dev: purpose"]


def test_seed__a_failure_midway__leaves_nothing_half_seeded(db, monkeypatch):
    from environments import strategy

    broken = [*strategy.REQUIRED_VARIABLES, ("BAD", "all", ["nowhere"], "", False, "")]
    monkeypatch.setattr(strategy, "REQUIRED_VARIABLES", broken)

    with pytest.raises(KeyError):
        seed_all()

    assert not Environment.objects.exists()
    assert not RequiredVariable.objects.exists()


def test_seed_strategy_command__reports_what_it_did(db, capsys):
    call_command("seed_strategy")
    first = capsys.readouterr().out
    call_command("seed_strategy")
    second = capsys.readouterr().out
    created = int(re.search(r"Strategy seeded: (\d+) created", first).group(1))
    assert created >= 25  # the environments' rows alone; other apps add theirs
    assert "0 created, 0 updated, 0 operator edits kept" in second
