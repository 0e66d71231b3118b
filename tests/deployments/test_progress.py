"""What the deployment page and list show: states that never look better than they are (issue 18 items 2, 6).

Plain rules on unsaved rows: no database, no engine.
"""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from deployments import progress
from deployments.admin import glob_regex
from deployments.choices import BalancerKind
from deployments.choices import DeploymentStatus as S
from deployments.engine.traffic import INCONCLUSIVE, NOT_MEASURED, PASSED, hold_verdict
from deployments.models import Deployment, DeploymentStep

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def test_progress_state__aborted_all_skipped__zero_done_red_with_skipped_named():
    state = progress.progress_state(S.ABORTED, passed=0, skipped=6, total=6)
    assert (state.label, state.tone, state.percent, state.skipped_percent) == (
        "0/6 steps (6 skipped)",
        "ops-bad",
        0,
        100,
    )


def test_progress_state__rolled_back_after_five_steps__red_not_mostly_green():
    state = progress.progress_state(S.ROLLED_BACK, passed=4, failed=1, skipped=1, total=6)
    assert state.tone == "ops-bad" and state.label == "4/6 steps (1 skipped, 1 failed)"


@pytest.mark.parametrize(
    ("status", "passed", "skipped", "tone"),
    [(S.SUCCEEDED, 6, 0, "ops-ok"), (S.SUCCEEDED, 5, 1, "ops-warn"), (S.SHIFTING_TRAFFIC, 4, 0, ""),
     (S.FAILED, 2, 0, "ops-bad")],
)  # fmt: skip
def test_progress_state__tone__green_only_when_every_step_passed(status, passed, skipped, tone):
    assert progress.progress_state(status, passed=passed, skipped=skipped, total=6).tone == tone


def test_hold_verdict__manual_balancer__not_measured_never_passed():
    verdict, text = hold_verdict(measured=False, requests=0, error_rate=0.0, min_requests=100, weight=10,
                                 hold_seconds=300)  # fmt: skip
    assert verdict == NOT_MEASURED and "not measured" in text and "0 requests" not in text


def test_hold_verdict__real_balancer_under_min_requests__inconclusive():
    verdict, text = hold_verdict(measured=True, requests=12, error_rate=0.0, min_requests=100, weight=10,
                                 hold_seconds=300)  # fmt: skip
    assert verdict == INCONCLUSIVE and "12 requests" in text


def test_hold_verdict__real_balancer_enough_requests__passed_with_the_figures():
    verdict, text = hold_verdict(measured=True, requests=500, error_rate=0.4, min_requests=100, weight=50,
                                 hold_seconds=300)  # fmt: skip
    assert (verdict, text) == (PASSED, "500 requests, 0.40% 5xx over the hold")


def _step(name, status, started=None, finished=None):
    return DeploymentStep(name=name, status=status, started_at=started, finished_at=finished)


def test_step_rows__manual_balancer_traffic_step__held_not_measured_and_times():
    policy = SimpleNamespace(balancer=BalancerKind.MANUAL)
    steps = [
        _step("deploy", "passed", NOW - timedelta(minutes=5), NOW - timedelta(minutes=4, seconds=15)),
        _step("traffic_10", "passed", NOW - timedelta(minutes=4), NOW - timedelta(minutes=1)),
        _step("traffic_50", "running", NOW - timedelta(seconds=42)),
        _step("traffic_100", "skipped"),
    ]
    rows = progress.step_rows(None, steps, policy=policy, now=NOW)
    assert [(r.label, r.tone, r.elapsed) for r in rows] == [
        ("Passed", "ops-ok", "45 s"),
        (progress.NOT_MEASURED, "ops-warn", "3 min"),
        ("Running", "", "42 s"),
        ("Skipped", "ops-muted", ""),
    ]


def test_step_rows__haproxy_traffic_step__passed():
    rows = progress.step_rows(None, [_step("traffic_10", "passed")], policy=SimpleNamespace(balancer="haproxy"))
    assert rows[0].label == "Passed"


def test_current_hold__counting_down__ends_at_hold_start_plus_its_seconds():
    steps = [SimpleNamespace(weight=10, hold_seconds=300), SimpleNamespace(weight=50, hold_seconds=600)]
    policy = SimpleNamespace(traffic_steps=SimpleNamespace(all=lambda: steps))
    deployment = Deployment(status=S.SHIFTING_TRAFFIC, traffic_step=1, hold_started_at=NOW)
    assert progress.current_hold(deployment, policy).ends_at == NOW + timedelta(seconds=600)
    # Waiting for a person to set the weights: the hold has not started, no countdown
    deployment.awaiting_weights = "blue 50 / green 50"
    assert progress.current_hold(deployment, policy).ends_at is None
    # Not shifting: no hold
    assert progress.current_hold(Deployment(status=S.DEPLOYING), policy) is None


def test_total_duration__ended__from_start_to_finish():
    deployment = Deployment(started_at=NOW, finished_at=NOW + timedelta(minutes=12, seconds=5))
    assert progress.total_duration(deployment) == "12 min 5 s"
    assert progress.total_duration(Deployment(started_at=NOW)) == ""
    assert "never" not in progress.total_duration(deployment)
    assert "before the engine started" in progress.total_duration(Deployment(finished_at=NOW))
    assert progress.human_duration(7500) == "2 h 5 min"


@pytest.mark.parametrize(("pattern", "regex"), [("release/*", "^release/.*$"), ("v*", "^v.*$"), ("main", "^main$")])
def test_glob_regex__source_rule__anchored(pattern, regex):
    assert glob_regex(pattern) == regex
