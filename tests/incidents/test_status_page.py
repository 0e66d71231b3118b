import pytest

from environments.models import Environment
from incidents import services
from incidents.models import Incident
from tests.incidents.conftest import make_rolled_back

INTERNAL = {
    "title": "Automatic rollback INTERNAL-TITLE",
    "error_logs": "ERRLOG-7731 stack trace",
    "root_cause": "ROOTCAUSE-missing-index",
    "customer_impact": "IMPACT-internal-estimate",
    "summary": "SUMMARY-internal",
    "contributing_factors": "FACTOR-secret",
    "hotfix_reference": "HOTFIX-PR-991",
    "postmortem_attendees": "attendee@amarise.invalid",
}


@pytest.fixture(autouse=True)
def staging_shown_too(settings, request):
    """These incidents come from a staging rollback: this page is configured to show staging as well."""
    if "production_only" not in request.node.name:
        settings.OPS_STATUS_PAGE_ENVIRONMENTS = "staging,production"


def test_status_page__production_only_by_default(seeded, client):
    Environment.objects.filter(key="staging").update(last_health_status="down")
    Environment.objects.filter(key="production").update(last_health_status="up")

    html = client.get("/status/").content.decode()

    assert 'Production</strong><span class="ok">Operational' in html
    assert "Staging" not in html and "Degraded" not in html and "Dev" not in html


def _published(**extra):
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back(version="v7.7-internal").pk)
    values = {**INTERNAL, **extra}
    Incident.objects.filter(pk=incident.pk).update(**values)
    incident.stakeholders.create(email="stakeholder@amarise.invalid")
    return incident


def test_status_page__published_incident__public_text_only(seeded, client):
    _published(published=True, public_title="Checkout errors", public_summary="Some payments failed; fixed.")

    response = client.get("/status/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Checkout errors" in html and "Some payments failed; fixed." in html
    for value in [*INTERNAL.values(), "stakeholder@amarise.invalid", "v7.7-internal", "Critical rollback"]:
        assert value not in html, f"internal value leaked: {value}"
    assert "5xx rate" not in html  # nothing from the timeline
    assert "/admin/" not in html


def test_status_page__unpublished_incident__not_listed(seeded, client):
    _published(published=False, public_summary="Draft text not yet approved")

    html = client.get("/status/").content.decode()

    assert "Draft text not yet approved" not in html
    assert "No open incidents." in html


def test_status_page__environment_with_open_published_incident__shown_in_progress(seeded, client):
    _published(published=True, public_summary="Investigating slow checkout")
    Environment.objects.filter(key="production").update(last_health_status="up")

    html = client.get("/status/").content.decode()

    assert 'Staging</strong><span class="bad">Incident in progress' in html
    assert 'Production</strong><span class="ok">Operational' in html
    assert "Local" not in html  # developer machines are nobody's business


def test_status_page__anonymous_post__refused(seeded, client):
    assert client.post("/status/").status_code == 405


def test_status_page__resolved_recently__listed_as_past(seeded, client, make_user):
    incident = _published(published=True, public_summary="Brief outage of search")
    services.change_status(incident_id=incident.pk, status="resolved", user=make_user("x"))

    html = client.get("/status/").content.decode()

    past = html.split('id="recent-incidents"')[1]
    assert "Brief outage of search" in past
