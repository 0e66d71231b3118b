"""A hand-built history of production releases, deployments and incidents, with its DORA figures worked out.

Period: the 30 days up to NOW. Lead times (commit → first succeeded deployment of its release), in hours:
v1.0: 5 and 2; v1.1: 25 (its first deployment rolled back, the second succeeded, a third succeeded again and
adds nothing); v1.2: 0.5; v1.3: 10; v1.4: 3. Sorted 0.5, 2, 3, 5, 10, 25: median 4, p90 at position 4.5 → 17.5.
Succeeded in the period: 6 → 0.2 a day, 1.4 a week. Reached users: 6 + 1 rolled back = 7. Failed changes:
the rollback and v1.2 (an incident 3 h after it finished) = 2 → 28.57 %; v1.4's incident came 48 h later.
Time to restore, incidents linked to a deployment: 10 min (the rollback's), 4 h (v1.2's, resolved, no
rollback), 30 min (v1.4's) → median 30 min, p90 at 1.8 → 30 + 0.8 × 210 = 198 min. An incident linked to no
deployment, a deployment 40 days back, a failed one (never took traffic) and a staging one count nowhere.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import Deployment, Release, ReleaseCommit
from incidents.models import Incident, Severity

H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass
class History:
    now: object
    production: object
    staging: object
    rolled_back: object
    incident_failure: object
    deployments: dict


def release(version, *commit_ages, now):
    r = Release.objects.create(version=version, ref=version, ref_kind="tag")
    for i, age in enumerate(commit_ages):
        ReleaseCommit.objects.create(release=r, sha=f"{i:x}{abs(hash(version)) % 16**12:012x}"[:12].ljust(12, "a"),
                                     committed_at=now - age)  # fmt: skip
    return r


def deploy(release, environment, status, finished_ago, *, now, executed=False):
    finished = now - finished_ago
    return Deployment.objects.create(
        release=release,
        environment=environment,
        status=status,
        strategy="blue_green",
        started_at=finished - 20 * timedelta(minutes=1),
        finished_at=finished,
        executed_at=finished if executed else None,
    )


def incident(environment, deployment, *, now, opened_ago, detected_ago, executed_ago=None, resolved_ago=None):
    return Incident.objects.create(
        title="incident",
        environment=environment,
        severity=Severity.objects.order_by("order").first(),
        deployment=deployment,
        opened_at=now - opened_ago,
        detected_at=now - detected_ago,
        executed_at=now - executed_ago if executed_ago is not None else None,
        resolved_at=now - resolved_ago if resolved_ago is not None else None,
    )


@pytest.fixture
def seeded(db):
    """The seeds these tests read (environments, incident severities, DORA bands), not every app's."""
    from core.seeding import SeedReport
    from delivery import seeds as delivery_seeds
    from environments import seeds as environment_seeds
    from incidents import seeds as incident_seeds

    report = SeedReport()
    for module in (environment_seeds, incident_seeds, delivery_seeds):
        module.seed(report)
    return report


@pytest.fixture
def history(seeded):
    return build_history()


def build_history():
    from environments.public import Environment

    now = timezone.now()
    production, staging = Environment.objects.get(key="production"), Environment.objects.get(key="staging")
    v09 = release("v0.9", 41 * D, now=now)
    v10 = release("v1.0", 10 * D + 5 * H, 10 * D + 2 * H, now=now)
    v11 = release("v1.1", 5 * D + 1 * H, now=now)
    v12 = release("v1.2", 2 * D + 0.5 * H, now=now)
    v13 = release("v1.3", 1 * D + 10 * H, now=now)
    v14 = release("v1.4", 20 * D + 3 * H, now=now)
    v15 = release("v1.5", 3 * D, now=now)
    d = {
        "old": deploy(v09, production, "succeeded", 40 * D, now=now),
        "v1.0": deploy(v10, production, "succeeded", 10 * D, now=now),
        "v1.1 rolled back": deploy(v11, production, "rolled_back", 5 * D, now=now, executed=True),
        "v1.1": deploy(v11, production, "succeeded", 4 * D, now=now),
        "v1.1 again": deploy(v11, production, "succeeded", 3 * D, now=now),
        "v1.2": deploy(v12, production, "succeeded", 2 * D, now=now),
        "v1.3": deploy(v13, production, "succeeded", 1 * D, now=now),
        "v1.4": deploy(v14, production, "succeeded", 20 * D, now=now),
        "v1.5 failed": deploy(v15, production, "failed", 2.5 * D, now=now),
        "staging": deploy(v12, staging, "rolled_back", 2 * D, now=now, executed=True),
    }
    minute = timedelta(minutes=1)
    incident(production, d["v1.1 rolled back"], now=now, opened_ago=5 * D, detected_ago=5 * D + 10 * minute,
             executed_ago=5 * D)  # fmt: skip
    incident(production, d["v1.2"], now=now, opened_ago=2 * D - 3 * H, detected_ago=2 * D - 2 * H,
             resolved_ago=2 * D - 6 * H)  # fmt: skip
    incident(production, d["v1.4"], now=now, opened_ago=18 * D, detected_ago=18 * D,
             resolved_ago=18 * D - 30 * timedelta(minutes=1))  # fmt: skip
    incident(production, None, now=now, opened_ago=6 * D, detected_ago=6 * D, resolved_ago=5 * D)
    incident(staging, d["staging"], now=now, opened_ago=2 * D, detected_ago=2 * D, executed_ago=2 * D - H)
    return History(now, production, staging, d["v1.1 rolled back"], d["v1.2"], d)


@pytest.fixture
def make_token():
    from tests.core.tokens import make_token as new_token
    from tests.core.tokens import service_account

    def make(*environments):
        reader = service_account(f"dora-reader-{len(made)}", "delivery.view_delivery_metrics")
        made.append(reader)
        return new_token(reader, environments=environments, name="dora reader")

    made = []

    return make
