from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core.dashboard import environment_cards
from environments.models import Environment
from incidents import export, metrics, services
from incidents.models import Incident, Severity, TimelineEntry
from tests.incidents.conftest import make_rolled_back


@pytest.fixture
def ops(admin_client):
    return admin_client


def _incident(**kwargs):
    incident, _ = services.open_incident_for_rollback(deployment_id=make_rolled_back(**kwargs).pk)
    return incident


def test_changelist__marks_and_compliance_filters(seeded, ops):
    fast = _incident(version="v1")
    slow = _incident(version="v2", detect_to_decide=600)
    url = reverse("admin:incidents_incident_changelist")

    page = ops.get(url).content.decode()
    assert "✔ met" in page and "✘ missed" in page

    missed = ops.get(url, {"decision_target": "missed"}).context["cl"].result_list
    met = ops.get(url, {"decision_target": "met"}).context["cl"].result_list
    assert [i.pk for i in missed] == [slow.pk]
    assert [i.pk for i in met] == [fast.pk]
    by_severity = ops.get(url, {"severity__id__exact": fast.severity_id, "status__exact": "mitigated"})
    assert {i.pk for i in by_severity.context["cl"].result_list} == {fast.pk, slow.pk}


def test_change_page__timeline_report_fieldsets_and_actions(seeded, ops):
    incident = _incident()

    page = ops.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()

    assert 'id="incident-timeline"' in page and "5xx rate 20.0% &gt; 5%: automatic rollback" in page
    for heading in [
        "Step 1 · Confirm",
        "Step 2 · Switch traffic",
        "Step 3 · Investigate",
        "Step 4 · Document",
        "Status page",
        "Action items",
    ]:
        assert heading in page
    assert "Schedule post-mortem" in page and "Mark resolved" in page and "Export Markdown" in page


def test_incident_pages__opened_by_an_alert__says_so_and_filters_on_it(seeded, ops, env):
    # Given one incident opened by an alert and one by the engine's rollback
    by_alert = services.open_incident(title="Critical alert EnvironmentDown", environment=env("staging"),
                                      severity=Severity.objects.first(), source="alert")  # fmt: skip
    by_rollback = _incident()

    # When the incident page and the list filtered on "opened by" are read
    page = ops.get(reverse("admin:incidents_incident_change", args=[by_alert.pk])).content.decode()
    url = reverse("admin:incidents_incident_changelist")
    listed = ops.get(url, {"opened_by__exact": "alert"}).context["cl"].result_list

    # Then the page names the alert as the opener, and the filter keeps only that incident
    assert "Opened by" in page and '<div class="readonly">Alert</div>' in page
    assert [i.pk for i in listed] == [by_alert.pk] and by_rollback.opened_by == "engine"


def test_change_page__note_added__new_entry_old_ones_untouched(seeded, ops):
    incident = _incident()
    before = list(incident.timeline.values_list("pk", "text"))
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    form = ops.get(url).context["adminform"].form
    data = {
        k: v for k, v in form.initial.items() if v is not None and k not in {"deployment", "release", "environment"}
    }
    data |= {
        "severity": incident.severity_id,
        "started_at_0": "", "started_at_1": "",
        "add_note": "Confirmed with payments team",
        "root_cause": "A missing index",
        "postmortem_minutes": 60,
    }  # fmt: skip
    for name in ["detected_at", "decided_at", "executed_at", "started_at", "resolved_at", "postmortem_at"]:
        value = getattr(incident, name)
        data[f"{name}_0"] = value.strftime("%Y-%m-%d") if value else ""
        data[f"{name}_1"] = value.strftime("%H:%M:%S") if value else ""
    for prefix in ["stakeholders", "runbook_updates", "action_items"]:
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}

    response = ops.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    incident.refresh_from_db()
    assert incident.root_cause == "A missing index"
    assert list(TimelineEntry.objects.filter(pk__in=[p for p, _ in before]).values_list("pk", "text")) == before
    assert incident.timeline.last().text == "Confirmed with payments team"


def test_status_button__resolve__resolved(seeded, ops):
    incident = _incident()

    ops.post(reverse("admin:incidents_incident_status", args=[incident.pk, "resolved"]))

    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_status_button__invalid_target__message_and_unchanged(seeded, ops):
    incident = _incident()

    response = ops.post(reverse("admin:incidents_incident_status", args=[incident.pk, "postmortem_done"]), follow=True)

    assert "cannot go to post-mortem done" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "mitigated"


def test_schedule_postmortem_button__sends_ics(seeded, ops, django_capture_on_commit_callbacks):
    incident = _incident()
    Incident.objects.filter(pk=incident.pk).update(
        postmortem_at=timezone.now() + timedelta(days=1), postmortem_attendees="team@amarise.invalid"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(reverse("admin:incidents_incident_postmortem", args=[incident.pk]), follow=True)

    assert "invitation sent to team@amarise.invalid" in response.content.decode()
    assert mail.outbox[-1].attachments[0][0] == "postmortem.ics"


def test_export_markdown__sections_and_secrets_redacted(seeded, ops):
    incident = _incident()
    Incident.objects.filter(pk=incident.pk).update(
        error_logs="ERROR postgres://shop:hunter2@db:5432/shop password=swordfish Authorization: Bearer abcdef123456",
        root_cause="A missing index on orders.created_at",
    )
    incident.runbook_updates.create(link="https://wiki.amarise.invalid/rollback", done=True)

    response = ops.get(reverse("admin:incidents_incident_export", args=[incident.pk]))

    text = response.content.decode()
    assert response["Content-Type"].startswith("text/markdown")
    assert text.startswith(f"# Incident #{incident.pk}: ")
    for heading in ["## Confirm", "## Investigate", "## Document", "## Timeline", "| Decision |"]:
        assert heading in text
    assert "A missing index on orders.created_at" in text
    assert "- [x] https://wiki.amarise.invalid/rollback" in text
    for secret in ["hunter2", "swordfish", "abcdef123456"]:
        assert secret not in text
    assert "postgres://shop:[redacted]@db" in text


def test_redact__plain_text__unchanged():
    assert export.redact("p95 went to 3.2s after the deploy") == "p95 went to 3.2s after the deploy"


def test_metrics__per_severity_and_window__means_and_share(seeded, ops):
    _incident(version="v1", traffic_to_detect=60, detect_to_decide=60, decide_to_execute=60)
    _incident(version="v2", traffic_to_detect=180, detect_to_decide=60, decide_to_execute=60)

    rows = {r["severity"].key: r for r in metrics.severity_metrics(days=30)}

    assert rows["critical"]["count"] == 2
    assert rows["critical"]["mttd"] == timedelta(seconds=120)
    assert rows["critical"]["met_share"] == 50.0  # the second took 3 min to detect (target 2)
    assert rows["medium"]["count"] == 0 and rows["medium"]["met_share"] is None
    page = ops.get(reverse("admin:incidents_incident_metrics")).content.decode()
    assert "<svg" in page and "Last 90 days" in page and "50% of 2" in page


def test_dashboard_card__open_incident__counted_on_its_environment(seeded):
    _incident()

    cards = {c["environment"].key: dict(c["sections"]) for c in environment_cards()}

    assert cards["staging"]["incidents"][0].value == "1 open"
    assert cards["production"]["incidents"][0].value == "none open"


def test_add_by_hand__without_deployment__opened_with_entry_and_stakeholders(seeded, ops, monkeypatch, env):
    monkeypatch.setenv("OPS_INCIDENT_STAKEHOLDERS", "oncall@amarise.invalid")
    data = {
        "title": "Search is slow",
        "environment": env("production").pk,
        "severity": Severity.objects.get(key="medium").pk,
        "postmortem_minutes": 60,
    }
    for prefix in ["stakeholders", "runbook_updates", "action_items"]:
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}

    response = ops.post(reverse("admin:incidents_incident_add"), data)

    assert response.status_code == 302
    incident = Incident.objects.get(title="Search is slow")
    assert incident.deployment is None and incident.opened_by == "person" and incident.detected_at is not None
    assert incident.timeline.get().text == "Incident opened by hand"
    # the variable's address, and production's seeded on-call contact (incidents.Contact)
    assert list(incident.stakeholders.values_list("email", flat=True)) == [
        "oncall-production@amarise.invalid",
        "oncall@amarise.invalid",
    ]


def test_add_by_hand__no_title__form_error_nothing_saved(seeded, ops):
    data = {"title": "", "environment": Environment.objects.first().pk, "severity": Severity.objects.first().pk}

    response = ops.post(reverse("admin:incidents_incident_add"), data)

    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not Incident.objects.exists()


def test_add_by_hand__deployment_of_another_environment__form_error_nothing_saved(seeded, ops, env):
    deployment = make_rolled_back(env_key="staging")
    data = {
        "title": "Checkout errors",
        "environment": env("production").pk,
        "severity": Severity.objects.get(key="high").pk,
        "deployment": deployment.pk,
        "postmortem_minutes": 60,
    }
    for prefix in ["stakeholders", "runbook_updates", "action_items"]:
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}

    response = ops.post(reverse("admin:incidents_incident_add"), data)

    assert response.status_code == 200
    assert f"Deployment #{deployment.pk} ran on Staging, not Production." in response.content.decode()
    assert not Incident.objects.exists()


def test_metrics_chart__severity_name_with_markup__is_escaped():
    from incidents.metrics import chart_svg

    svg = str(chart_svg([{"severity": "<img src=x onerror=alert(1)>", "met_share": 50.0}]))
    assert "<img" not in svg
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg
    assert svg.startswith("<svg") and svg.endswith("</svg>")
