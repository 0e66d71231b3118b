"""The DORA admin page, its links to the rows behind each figure, the CSV export, permissions, query counts."""

import csv
import io
import re
from html import unescape

import pytest
from django.db import connection

from tests.delivery.conftest import D, deploy, incident, release

pytestmark = pytest.mark.django_db
PAGE = "/admin/delivery/dora/"
EXPORT = "/admin/delivery/dora/export.csv"


@pytest.fixture
def reader(make_user):
    return make_user(
        "reader", "delivery.view_delivery_metrics", "deployments.view_deployment", "incidents.view_incident"
    )


def _link(html, element_id):
    return unescape(re.search(rf'href="([^"]+)" id="{element_id}"', html).group(1))


def test_page__four_tiles_with_bands_and_trend(history, client, reader):
    client.force_login(reader)
    response = client.get(PAGE, {"environment": "production", "days": "30"})
    html = response.content.decode()
    assert response.status_code == 200
    for tile in ("deployment-frequency", "lead-time", "change-failure-rate", "time-to-restore"):
        assert f'id="tile-{tile}"' in html
    assert "0.20 / day" in html and "28.6%" in html and "4.0 h" in html and "30 min" in html
    assert html.count('class="dora-band dora-band-high"') == 3 and "dora-band-elite" in html
    assert html.count('class="dora-trend"') == 4 and html.count("<rect ") == 4 * 26
    assert "cdn" not in html.lower()


def test_page__rolled_back_link_lists_exactly_those_deployments(history, client, reader):
    client.force_login(reader)
    html = client.get(PAGE, {"environment": "production", "days": "30"}).content.decode()
    changelist = client.get(_link(html, "link-rolled_back"))
    assert changelist.status_code == 200
    shown = list(changelist.context["cl"].result_list)
    assert shown == [history.rolled_back]


def test_page__incident_link_and_restore_link(history, client, reader):
    client.force_login(reader)
    html = client.get(PAGE, {"environment": "production", "days": "30"}).content.decode()
    failures = client.get(_link(html, "link-incident")).context["cl"].result_list
    assert list(failures) == [history.incident_failure]
    restored = client.get(_link(html, "link-restore")).context["cl"].result_list
    assert len(restored) == 3 and all(i.deployment_id for i in restored)
    succeeded = client.get(_link(html, "link-succeeded")).context["cl"].result_list
    assert len(succeeded) == 6 and {d.status for d in succeeded} == {"succeeded"}


def test_page__needs_the_view_permission(history, client, make_user):
    client.force_login(make_user("nobody", "deployments.view_deployment"))
    assert client.get(PAGE).status_code == 403
    assert client.get(EXPORT, {"environment": "production", "figure": "lead_time"}).status_code == 403


def test_page__anonymous_goes_to_login(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_page__bad_days_says_so(history, client, reader):
    client.force_login(reader)
    response = client.get(PAGE, {"environment": "production", "days": "365"})
    assert response.status_code == 400 and "days must be one of 7, 30, 90" in response.content.decode()


def test_page__release_names_are_escaped(history, client, reader):
    bad = release("<script>alert(1)</script>", D, now=history.now)
    deploy(bad, history.production, "succeeded", 1 * D, now=history.now)
    client.force_login(reader)
    assert b"<script>alert" not in client.get(PAGE, {"environment": "production"}).content


def test_export__change_failure_rate_rows(history, client, reader):
    client.force_login(reader)
    response = client.get(EXPORT, {"environment": "production", "days": "30", "figure": "change_failure_rate"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert len(rows) == 7
    assert {r["deployment"] for r in rows if r["failed_rolled_back"] == "True"} == {str(history.rolled_back.pk)}
    linked = {r["deployment"] for r in rows if r["failed_incident"] == "True"}
    assert linked == {str(history.rolled_back.pk), str(history.incident_failure.pk)}  # the rollback's incident too


def test_export__lead_time_rows_are_first_successes(history, client, reader):
    client.force_login(reader)
    response = client.get(EXPORT, {"environment": "production", "days": "30", "figure": "lead_time"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["release"] for r in rows) == ["v1.0", "v1.1", "v1.2", "v1.3", "v1.4"]
    assert sum(int(r["commits"]) for r in rows) == 6


def test_export__formula_like_cells_are_defused(history, client, reader):
    evil = release("=HYPERLINK(1)", D, now=history.now)
    deploy(evil, history.production, "succeeded", 1 * D, now=history.now)
    client.force_login(reader)
    response = client.get(EXPORT, {"environment": "production", "figure": "deployment_frequency"})
    body = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK(1)" in body


def test_export__unknown_figure_400(history, client, reader):
    client.force_login(reader)
    response = client.get(EXPORT, {"environment": "production", "figure": "vibes"})
    assert response.status_code == 400 and "figure must be one of" in response.json()["error"]


def _queries(fn):
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = fn()
    assert response.status_code == 200
    return len(executed)


def test_page_and_api__bounded_queries_whatever_the_history(history, client, reader, make_token):
    client.force_login(reader)
    token = make_token("production")

    def page():
        return client.get(PAGE, {"environment": "production", "days": "90"})

    def api():
        return client.get("/api/metrics/dora/", {"environment": "production", "days": "90"},
                          headers={"Authorization": f"Bearer {token}"})  # fmt: skip

    page(), api()  # warm the token cache
    before = (_queries(page), _queries(api))
    for i in range(30):
        r = release(f"v9.{i}", D + i * D / 10, 2 * D, now=history.now)
        d = deploy(r, history.production, "rolled_back" if i % 3 else "succeeded", i * D / 10, now=history.now,
                   executed=bool(i % 3))  # fmt: skip
        incident(history.production, d, now=history.now, opened_ago=i * D / 10, detected_ago=i * D / 10,
                 resolved_ago=0 * D)  # fmt: skip
    after = (_queries(page), _queries(api))
    assert after == before
    # The API's share includes reading the token owner's permissions: a token does no more than its owner could.
    assert 8 <= before[0] <= 20 and 4 <= before[1] <= 10


def test_export__time_to_restore_rows_are_the_changes_incidents(history, client, reader):
    client.force_login(reader)
    response = client.get(EXPORT, {"environment": "production", "days": "30", "figure": "time_to_restore"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["release"] for r in rows) == ["v1.1", "v1.2", "v1.4"]  # not the incident linked to nothing
    assert all(r["incident"] and r["incident_detected_at"] for r in rows)
