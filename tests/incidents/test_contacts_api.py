"""Who is told of incidents, per environment and severity: the API (token acting as its owner), the seed, and
a new incident getting its environment's contacts as stakeholders."""

import json

import pytest

from incidents.models import Contact
from incidents.public import Source, open_incident
from tests.core.tokens import bearer, make_token, service_account

pytestmark = pytest.mark.django_db
URL = "/api/incidents/contacts/"
PERMS = ("incidents.view_contact", "incidents.add_contact", "incidents.delete_contact")


@pytest.fixture
def pager(seeded_module):
    owner = service_account("pager", *PERMS)
    return make_token(owner, environments=["production"], scopes=["incidents:write"], name="pager")


def _post(client, token, **body):
    return client.post(URL, json.dumps(body), content_type="application/json", **bearer(token))


def test_seeded__each_environment_has_an_oncall_contact_at_an_invalid_address(seeded_module):
    production = Contact.objects.get(environment__key="production", role="oncall")
    assert production.email == "oncall-production@amarise.invalid" and production.severity is None


def test_add_list_remove__production_critical_stakeholder(client, pager, env):
    response = _post(client, pager, environment="production", email="cto@amarise.example", severity="critical")
    assert response.status_code == 201, response.content
    added = response.json()
    assert added | {"id": 0} == {"id": 0, "environment": "production", "severity": "critical",
                                 "email": "cto@amarise.example", "role": "stakeholder"}  # fmt: skip

    listed = client.get(URL + "?environment=production", **bearer(pager)).json()["contacts"]
    assert {c["email"] for c in listed} == {"oncall-production@amarise.invalid", "cto@amarise.example"}

    # A critical incident on production tells both; a medium one only the on-call address.
    from incidents.public import Severity

    critical = open_incident(title="5xx", environment=env("production"), severity=Severity.objects.get(key="critical"),
                             source=Source.PERSON)  # fmt: skip
    medium = open_incident(title="slow", environment=env("production"), severity=Severity.objects.get(key="medium"),
                           source=Source.PERSON)  # fmt: skip
    assert set(critical.stakeholders.values_list("email", flat=True)) == {
        "oncall-production@amarise.invalid", "cto@amarise.example"}  # fmt: skip
    assert list(medium.stakeholders.values_list("email", flat=True)) == ["oncall-production@amarise.invalid"]

    assert client.delete(f"{URL}{added['id']}/", **bearer(pager)).status_code == 204
    assert not Contact.objects.filter(email="cto@amarise.example").exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"environment": "production", "email": "not-an-address"}, "is not an email address"),
        ({"environment": "production", "email": "a@b.example", "severity": "page"}, "No severity 'page'"),
        ({"environment": "production", "email": "a@b.example", "role": "boss"}, "The role must be one of"),
        ({"email": "a@b.example"}, "'environment' is required"),
        ({"environment": "production", "email": "oncall-production@amarise.invalid"}, "is already told"),
        ({"environment": "production", "email": "a@b.example", "extra": 1}, "unknown field"),
    ],
)
def test_add__bad_input__json_400_and_nothing_changes(client, pager, body, message):
    before = Contact.objects.count()
    response = _post(client, pager, **body)
    assert response.status_code == 400 and message in response.json()["error"]
    assert Contact.objects.count() == before


def test_token__other_environment_or_no_write_scope__refused(client, pager, seeded_module):
    response = _post(client, pager, environment="staging", email="a@b.example")
    assert response.status_code == 403 and "not scoped to 'staging'" in response.json()["error"]
    staging_id = Contact.objects.get(environment__key="staging").pk
    assert client.delete(f"{URL}{staging_id}/", **bearer(pager)).status_code == 403
    listed = client.get(URL, **bearer(pager)).json()["contacts"]
    assert {c["environment"] for c in listed} == {"production"}  # only what the token covers

    reader = make_token(service_account("reader", *PERMS), environments=["production"], scopes=["flags:read"])
    response = _post(client, reader, environment="production", email="a@b.example")
    assert response.status_code == 403 and "lacks the incidents:write scope" in response.json()["error"]
    assert client.post(URL, "{}", content_type="application/json").status_code == 401
    assert Contact.objects.filter(email="a@b.example").count() == 0


def test_admin__add_then_duplicate_refused__delete(client, make_user, seeded_module, env):
    from incidents.public import Severity

    admin = make_user("ops-admin", *PERMS, "incidents.change_contact")
    client.force_login(admin)
    data = {"environment": env("staging").pk, "severity": Severity.objects.get(key="high").pk,
            "email": "lead@amarise.example", "role": "stakeholder"}  # fmt: skip
    assert client.post("/admin/incidents/contact/add/", data).status_code == 302
    added = Contact.objects.get(email="lead@amarise.example")
    assert (added.environment.key, added.severity.key) == ("staging", "high")

    again = client.post("/admin/incidents/contact/add/", data)
    assert again.status_code == 200 and "already exists" in again.content.decode()
    assert Contact.objects.filter(email="lead@amarise.example").count() == 1

    response = client.post(f"/admin/incidents/contact/{added.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Contact.objects.filter(pk=added.pk).exists()
