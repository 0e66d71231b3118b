import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from core.seeding import seed_all
from refreshes.models import DataTarget, MaskingRule, RefreshRun
from refreshes.tasks import DEV_RESET_TASK, STAGING_REFRESH_TASK, start_staging_refresh

pytestmark = pytest.mark.django_db


def test_seed__rules_targets_and_schedules__created_once_and_edits_kept(seeded):
    assert MaskingRule.objects.filter(table="payment_methods", column="", strategy="truncate").exists()
    assert DataTarget.objects.get(environment__key="staging").dsn_env_var == "STAGING_DATABASE_URL"
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {STAGING_REFRESH_TASK, DEV_RESET_TASK} <= tasks
    MaskingRule.objects.filter(table="addresses", column="postal_code").update(strategy="null")
    report = seed_all()
    assert MaskingRule.objects.get(table="addresses", column="postal_code").strategy == "null"
    assert any("postal_code" in k for k in report.kept)


def test_beat_task__a_run_already_going__not_started_and_says_why(seeded):
    assert start_staging_refresh().startswith("started")
    assert start_staging_refresh().startswith("not started: Staging refresh")
    assert RefreshRun.objects.count() == 1


def test_check_masking_rules_command__unruled_column__exit_1(targets, mutable_production):
    import psycopg

    from tests.refreshes.conftest import db_url

    call_command("check_masking_rules")
    with psycopg.connect(db_url(mutable_production)) as conn:
        conn.execute("ALTER TABLE orders ADD COLUMN billing_iban text")
    with pytest.raises(CommandError, match="orders.billing_iban") as raised:
        call_command("check_masking_rules")
    assert raised.value.returncode == 1
