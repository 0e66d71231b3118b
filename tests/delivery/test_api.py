"""GET /api/metrics/dora/: a read token scoped to the environment, clear JSON errors, the hand-worked figures."""

import pytest

pytestmark = pytest.mark.django_db
URL = "/api/metrics/dora/"


def get(client, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(URL, params, headers=headers)


def test_figures_for_a_scoped_token(history, client, make_token):
    response = get(client, make_token("production"), environment="production", days="30")
    body = response.json()
    assert response.status_code == 200
    assert body["environment"] == "production" and body["days"] == 30
    assert body["deployment_frequency"]["deployments"] == 6
    assert body["deployment_frequency"]["band"]["band"] == "high"
    assert body["lead_time"]["median_seconds"] == pytest.approx(4 * 3600, abs=1)
    assert body["change_failure_rate"]["failures"] == 2 and body["change_failure_rate"]["deployments"] == 7
    assert body["time_to_restore"]["p90_seconds"] == pytest.approx(198 * 60, abs=1)
    assert body["time_to_restore"]["band"]["band"] == "elite"
    assert "State of DevOps" in body["bands_source"]


def test_without_a_token__401(history, client):
    response = get(client, environment="production")
    assert response.status_code == 401 and "token" in response.json()["error"]


def test_unknown_token__401(history, client):
    response = get(client, "amr_nothing_here", environment="production")
    assert response.status_code == 401


def test_token_for_another_environment__403_naming_it(history, client, make_token):
    response = get(client, make_token("staging"), environment="production")
    assert response.status_code == 403 and "production" in response.json()["error"]


@pytest.mark.parametrize("days", ["14", "abc", "", "-7", "30.5"])
def test_bad_days__400(history, client, make_token, days):
    response = get(client, make_token("production"), environment="production", days=days)
    assert response.status_code == 400 and "days must be one of 7, 30, 90" in response.json()["error"]


def test_missing_environment__400(history, client, make_token):
    response = get(client, make_token("production"))
    assert response.status_code == 400 and "environment is required" in response.json()["error"]


def test_unknown_environment__404(history, client, make_token):
    response = get(client, make_token("production"), environment="qa")
    assert response.status_code == 404 and "'qa'" in response.json()["error"]


def test_only_get(history, client, make_token):
    response = client.post(URL, headers={"Authorization": f"Bearer {make_token('production')}"})
    assert response.status_code == 405
