"""§6 "Tested on staging with production-like data": how old staging's data was is kept on the run, and a run
on data older than the weekly refresh plus a day is not verified for production."""

from datetime import timedelta

import pytest

from environments.models import Environment
from migrations_log.exceptions import MigrationRefused
from migrations_log.executor import apply_pending
from migrations_log.models import Migration, MigrationRun
from migrations_log.services import register_release, stale_data_problem, verify_run
from refreshes.models import RefreshRun
from tests.migrations_log.conftest import staging_refreshed
from tests.migrations_log.helpers import BASE, release


def _staging_run():
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    apply_pending(release=release("2.0"), environment=Environment.objects.get(key="staging"))
    return MigrationRun.objects.filter(environment__key="staging").first()


def test_staging_run__data_refreshed_9_days_before__age_recorded_and_verify_refused_with_the_reason(targets, people):
    staging_refreshed(timedelta(days=9))
    refreshed = RefreshRun.objects.get().finished_at

    run = _staging_run()

    assert run.status == "applied" and run.data_refreshed_at == refreshed
    with pytest.raises(
        MigrationRefused, match=r"Staging's data was 9\.0 days old when .* more than the 8 days allowed"
    ):
        verify_run(run_id=run.pk, user=people["verifier"])
    run.refresh_from_db()
    assert run.verified_at is None


def test_staging_run__never_refreshed_from_production__verify_refused(targets, people):
    staging_refreshed(None)

    run = _staging_run()

    assert run.data_refreshed_at is None
    with pytest.raises(MigrationRefused, match="never been refreshed from production"):
        verify_run(run_id=run.pk, user=people["verifier"])
    assert not MigrationRun.objects.filter(verified_at__isnull=False).exists()


def test_stale_data_problem__limit_is_the_weekly_refresh_plus_a_day():
    from django.utils import timezone

    now = timezone.now()
    run = MigrationRun(started_at=now, data_refreshed_at=now - timedelta(days=8),
                       environment=Environment(name="staging"), migration=Migration(identifier="0002_x"))  # fmt: skip

    assert stale_data_problem(run) == ""
    run.data_refreshed_at -= timedelta(minutes=1)
    assert "more than the 8 days allowed" in stale_data_problem(run)
