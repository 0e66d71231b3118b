"""Issue 18 in-process: one open incident per cause, short titles, corrections with a reason, acknowledge."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditEntry
from core.caller import Caller, acting
from environments.models import Environment
from incidents import services
from incidents.exceptions import IncidentRefused
from incidents.models import Incident, Severity

pytestmark = pytest.mark.django_db
LONG = "The backup monitor found " + "that the recovery point objective was breached " * 4


@pytest.fixture
def seeded(seeded_module, db):
    return seeded_module


def _open(env="production", cause="alert:BackupRpoBreach", title=LONG):
    return services.open_or_join_incident(title=title, environment=Environment.objects.get(key=env),
                                          severity=Severity.objects.get(key="high"), source="alert",
                                          cause_key=cause)  # fmt: skip


def test_two_identical_failures__one_incident__repeat_in_its_timeline(seeded):
    first, created = _open()
    second, joined_created = _open()

    assert (created, joined_created, second.pk) == (True, False, first.pk)
    assert Incident.objects.filter(cause_key="alert:BackupRpoBreach").count() == 1
    assert first.timeline.filter(kind="repeat", text__startswith="Happened again").count() == 1


def test_same_cause__other_environment_or_after_resolution__new_incident(seeded):
    first, _ = _open()
    other_env, created_elsewhere = _open(env="staging")
    services.change_status(incident_id=first.pk, status="resolved")
    after, created_after = _open()

    assert created_elsewhere and other_env.pk != first.pk
    assert created_after and after.pk != first.pk


def test_database_refuses_a_second_open_incident_of_one_cause(seeded):
    first, _ = _open()
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(title="dup", environment=first.environment, severity=first.severity,
                                cause_key=first.cause_key)  # fmt: skip


def test_long_title__cut_at_a_word_under_80__full_text_in_the_opened_entry(seeded):
    incident, _ = _open(cause="")

    assert len(incident.title) <= 80 and incident.title.endswith("…")
    assert " ".join(LONG.split()) in incident.timeline.get(kind="opened").text
    assert services.short_title("Checkout 5xx") == ("Checkout 5xx", "")


def test_correct_instant__needs_a_reason__nothing_changes_without(seeded, make_user):
    incident, _ = _open(cause="")
    user = make_user("oncall")
    before = incident.detected_at

    with pytest.raises(IncidentRefused, match="needs a reason"):
        services.correct_instant(incident_id=incident.pk, field="detected_at", value=before - timedelta(minutes=1),
                                 reason="  ", user=user)  # fmt: skip
    with pytest.raises(IncidentRefused, match="can be corrected"):
        services.correct_instant(incident_id=incident.pk, field="title", value=before, reason="x", user=user)

    incident.refresh_from_db()
    assert incident.detected_at == before and not incident.timeline.filter(kind="correction").exists()


def test_correct_instant__with_reason__saved_timeline_and_audit(seeded, make_user):
    incident, _ = _open(cause="")
    user = make_user("oncall")
    earlier = incident.detected_at - timedelta(seconds=30)
    incident.started_at = earlier - timedelta(minutes=1)
    incident.save(update_fields=["started_at"])

    with acting(Caller(user=user, via="admin")):
        services.correct_instant(incident_id=incident.pk, field="detected_at", value=earlier,
                                 reason="The monitor ran late", user=user)  # fmt: skip

    incident.refresh_from_db()
    assert incident.detected_at == earlier
    assert "The monitor ran late" in incident.timeline.get(kind="correction").text
    entry = AuditEntry.objects.get(action="correct detected_at", object_id=str(incident.pk))
    assert entry.changes["reason"] == "The monitor ran late" and entry.actor == user


def test_acknowledge__once__sets_the_owner(seeded, make_user):
    incident, _ = _open(cause="")
    user = make_user("oncall")

    _, first = services.acknowledge(incident_id=incident.pk, user=user)
    _, again = services.acknowledge(incident_id=incident.pk, user=user)

    incident.refresh_from_db()
    assert (first, again) == (True, False) and incident.owner == user
    assert incident.timeline.filter(kind="acknowledged").count() == 1


def test_needs_a_person__waiting_deployment_and_open_incidents__card_link_counts_open_only(seeded, admin_client):
    from django.urls import reverse

    from deployments.models import Deployment, Release
    from deployments.public import waiting_for_a_person

    staging = Environment.objects.get(key="staging")
    release = Release.objects.create(version="v9.9", ref="release/v9.9", ref_kind="branch")
    waiting = Deployment.objects.create(release=release, environment=staging, strategy="blue_green",
                                        status="awaiting_checklist")  # fmt: skip
    open_one, _ = _open(env="staging", cause="")
    closed, _ = _open(env="staging", cause="other")
    services.change_status(incident_id=closed.pk, status="resolved")

    assert [(d.pk, what) for d, what in waiting_for_a_person()] == [(waiting.pk, "Checklist")]
    body = admin_client.get(reverse("admin:live")).content.decode()
    top = body.split('id="ops-attention"')[1].split("</section>")[0]
    assert "Deployments waiting for someone" in top and "v9.9 → Staging: Checklist" in top
    assert f"#{open_one.pk} " in top and f"#{closed.pk} " not in top
    card = body.split('data-environment="staging"')[1].split("</article>")[0]
    assert "1 open" in card and "state=open" in card
    query = {"state": "open", "environment__id__exact": staging.pk}
    listed = admin_client.get(reverse("admin:incidents_incident_changelist"), query).context["cl"].result_list
    assert [i.pk for i in listed] == [open_one.pk]
