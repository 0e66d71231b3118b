"""`make run` uses SQLite, which has no percentile_cont: the same history gives the same figures there."""

import json

import pytest

from tests.test_embedded_default import embedded_env, manage  # noqa: F401 - the fixture is used by name

SCRIPT = """
import json
from django.contrib.auth.models import User
from django.test import Client
from core.seeding import SeedReport
from delivery import metrics, seeds
from delivery.choices import Metric
from environments import seeds as environment_seeds
from incidents import seeds as incident_seeds
from tests.delivery.conftest import build_history

report = SeedReport()
for module in (environment_seeds, incident_seeds, seeds):
    module.seed(report)
h = build_history()
k = metrics.four_keys(metrics.period(h.production, 30, end=h.now))
rows = metrics.trend(h.production, end=h.now)
page_keys, page_rows = metrics.with_trend(metrics.period(h.production, 30, end=h.now))
client = Client()
client.force_login(User.objects.create_superuser("sqlite", "s@amarise.invalid", "pw-sqlite-1"))
page = client.get("/admin/delivery/dora/?environment=production&days=30")
print(json.dumps({
    "per_day": k[Metric.DEPLOYMENT_FREQUENCY]["per_day"],
    "lead": [k[Metric.LEAD_TIME]["median_seconds"], k[Metric.LEAD_TIME]["p90_seconds"]],
    "cfr": [k[Metric.CHANGE_FAILURE_RATE]["failures"], k[Metric.CHANGE_FAILURE_RATE]["deployments"]],
    "restore": [k[Metric.TIME_TO_RESTORE]["median_seconds"], k[Metric.TIME_TO_RESTORE]["p90_seconds"]],
    "last_week": rows[-1]["deployments"],
    "page": page.status_code,
    "page_figures_agree": page_keys == k and page_rows == rows,
}))
"""


def test_sqlite__same_figures_as_postgresql(embedded_env):  # noqa: F811
    manage(embedded_env, "migrate", "--noinput", timeout=300)
    out = json.loads(manage(embedded_env, "shell", "-c", SCRIPT, timeout=120).strip().splitlines()[-1])
    assert out["per_day"] == pytest.approx(0.2)
    assert out["lead"] == [pytest.approx(4 * 3600, abs=1), pytest.approx(17.5 * 3600, abs=1)]
    assert out["cfr"] == [2, 7]
    assert out["restore"] == [pytest.approx(30 * 60, abs=1), pytest.approx(198 * 60, abs=1)]
    assert out["last_week"] == 4 and out["page"] == 200 and out["page_figures_agree"]
