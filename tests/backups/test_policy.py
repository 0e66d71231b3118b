"""§9 backups_seeded, and the beat schedule following the policy."""

import json

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask

from backups import services
from backups.models import AssetBucket, BackupPolicy, ProtectedDatabase, ServiceTier
from tests.backups.cluster import _seed_backups

pytestmark = pytest.mark.django_db


def test_seed__strategy_section_9__tiers_policy_production_database_and_beat_rows(backups_seeded):
    tiers = {s.name: (s.tier, s.rto_minutes) for s in ServiceTier.objects.all()}
    assert tiers == {"Checkout": (1, 60), "Product catalog": (1, 120), "Journal": (2, 240), "Analytics": (2, 480)}
    policy = BackupPolicy.objects.get()
    assert (policy.full_hour_utc, policy.full_minute, policy.incr_every_hours, policy.retention_days) == (3, 0, 6, 30)
    assert (policy.cross_region_copy, policy.rpo_target_minutes, policy.rto_target_minutes) == (True, 60, 240)
    database = ProtectedDatabase.objects.get()
    assert database.environment.key == "production" and database.cipher and database.repos == [1, 2]
    assert AssetBucket.objects.get().name == "amarise-production-assets"
    full = PeriodicTask.objects.get(name="Backups (Strategy §9): full")
    assert (full.crontab.minute, full.crontab.hour, str(full.crontab.timezone)) == ("0", "3", "UTC")
    assert json.loads(full.kwargs) == {"policy_id": policy.pk, "type": "full"}
    incr = PeriodicTask.objects.get(name="Backups (Strategy §9): incremental")
    assert incr.crontab.hour == "9,15,21"
    assert PeriodicTask.objects.filter(name="Backups: RPO check", interval__every=60).exists()


def test_seed__run_twice__nothing_changed(backups_seeded):
    assert not _seed_backups().changed


def test_policy_change__schedule_changes_with_it(backups_seeded):
    policy = BackupPolicy.objects.get()
    policy.full_hour_utc, policy.incr_every_hours = 1, 4
    services.save_policy(policy=policy, actor="ops")

    full = PeriodicTask.objects.get(name="Backups (Strategy §9): full")
    incr = PeriodicTask.objects.get(name="Backups (Strategy §9): incremental")
    assert full.crontab.hour == "1"
    assert incr.crontab.hour == "5,9,13,17,21"


def test_policy_change__invalid__refused_and_schedule_unchanged(backups_seeded):
    policy = BackupPolicy.objects.get()
    policy.incr_every_hours = 5

    with pytest.raises(ValidationError, match="divisor of 24"):
        services.save_policy(policy=policy, actor="ops")
    policy.refresh_from_db()
    assert policy.incr_every_hours == 6
    assert PeriodicTask.objects.get(name="Backups (Strategy §9): incremental").crontab.hour == "9,15,21"


def test_protected_database__production_unencrypted__refused(backups_seeded):
    database = ProtectedDatabase.objects.get()
    database.cipher = False

    with pytest.raises(ValidationError, match="encrypted at rest"):
        database.full_clean()


def test_service_tier__table_name_with_sql__refused(backups_seeded):
    service = ServiceTier.objects.get(name="Checkout")
    service.row_count_tables = "orders; drop table orders"

    with pytest.raises(ValidationError, match="not a plain table name"):
        service.full_clean()
