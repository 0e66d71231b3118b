"""The roll-ups on the embedded default (`make run`: SQLite), where the hour is cut by strftime, not date_trunc."""

from tests.test_embedded_default import embedded_env, manage  # noqa: F401 - the fixture

OLD_ROWS = """
from datetime import timedelta
from django.utils import timezone
from backups.models import ProtectedDatabase, RpoCheck
from deployments.models import Deployment, MetricSample, Release, Slot
from environments.models import Environment

hour = (timezone.now() - timedelta(days=40)).replace(minute=0, second=0, microsecond=0)
database = ProtectedDatabase.objects.get()
RpoCheck.objects.bulk_create(RpoCheck(database=database, checked_at=hour + timedelta(minutes=m), ok=m != 7,
                                      unarchived_bytes=m) for m in range(60))
env = Environment.objects.get(key="production")
green = Slot.objects.create(environment=env, color="green", address="127.0.0.1:9", server_name="green")
deployment = Deployment.objects.create(release=Release.objects.create(version="v1", ref="v1", ref_kind="tag"),
                                       environment=env, to_slot=green)
MetricSample.objects.bulk_create(MetricSample(deployment=deployment, slot=green, taken_at=hour + timedelta(minutes=m),
                                              req_tot=10 * m, hrsp_5xx=m // 10, weight=m) for m in range(0, 60, 10))
"""

SHOW = """
from backups.models import RpoCheck, RpoCheckHourly
from deployments.models import MetricSample, MetricSampleHourly
print(RpoCheck.objects.count(), list(RpoCheckHourly.objects.values_list("checks", "failed", "unarchived_bytes")))
print(MetricSample.objects.count(), list(MetricSampleHourly.objects.values_list("samples", "requests", "errors",
                                                                                 "last_weight")))
"""


def test_prune_retention_on_sqlite__rolls_up_then_deletes(embedded_env):  # noqa: F811 - the fixture
    manage(embedded_env, "migrate", "--noinput")
    manage(embedded_env, "seed_strategy")
    manage(embedded_env, "shell", "-c", OLD_ROWS)
    out = manage(embedded_env, "prune_retention", "--table", "backups.RpoCheck", "--table", "deployments.MetricSample")
    assert "backups.RpoCheck: 60 rows" in out and "1 hourly rows rolled up" in out
    # 6 samples, 10 requests apart: the last has no next one (50 counted); 5xx went 0→…→5, one each 10 minutes
    assert manage(embedded_env, "shell", "-c", SHOW).splitlines()[-2:] == ["0 [(60, 1, 59)]", "0 [(6, 500, 5, 50)]"]
