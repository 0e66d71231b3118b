from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from environments.models import Environment
from incidents.choices import Phase
from incidents.models import Incident, Severity, SeverityPolicy, TimelineEntry


def _incident(severity_key="critical", **instants):
    return Incident.objects.create(
        title="Checkout 5xx",
        environment=Environment.objects.get(key="production"),
        severity=Severity.objects.get(key=severity_key),
        **instants,
    )


BASE = timezone.now().replace(microsecond=0) - timedelta(hours=1)


def _at(minutes):
    return BASE + timedelta(minutes=minutes)


def test_seeded_severities__match_rollback_time_targets_table(seeded):
    targets = {
        s.key: (s.detection_minutes, s.decision_minutes, s.execution_minutes, s.total_minutes)
        for s in Severity.objects.all()
    }
    assert targets == {"critical": (2, 3, 5, 10), "high": (5, 10, 5, 20), "medium": (15, 30, 5, 50)}
    policy = dict(SeverityPolicy.objects.values_list("cause", "severity__key"))
    assert policy["error_rate"] == "critical" and policy["manual"] == "high" and policy["p95_latency"] == "high"


def test_compliance__each_phase_against_its_target__met_or_missed(seeded):
    # Critical: detection 1.5 < 2 met; decision 4 >= 3 missed; execution 1 < 5 met; total 6.5 < 10 met.
    incident = _incident(started_at=_at(0), detected_at=_at(1.5), decided_at=_at(5.5), executed_at=_at(6.5))

    assert incident.duration(Phase.DETECTION) == timedelta(minutes=1.5)
    assert incident.compliance() == {
        Phase.DETECTION: True,
        Phase.DECISION: False,
        Phase.EXECUTION: True,
        Phase.TOTAL: True,
    }
    assert incident.met_all_targets is False


def test_compliance__exactly_on_target__missed_because_targets_are_strict(seeded):
    incident = _incident(started_at=_at(0), detected_at=_at(2))

    assert incident.met(Phase.DETECTION) is False


def test_compliance__instant_missing__unknown_not_met(seeded):
    incident = _incident(started_at=_at(0), detected_at=_at(1))

    assert incident.met(Phase.DECISION) is None
    assert incident.met_all_targets is None


def test_compliance__operator_edits_target__mark_follows(seeded):
    incident = _incident("high", started_at=_at(0), detected_at=_at(6))
    assert incident.met(Phase.DETECTION) is False

    Severity.objects.filter(key="high").update(detection_minutes=7)
    incident.refresh_from_db()

    assert incident.met(Phase.DETECTION) is True


def test_clean__instants_out_of_order__clear_message(seeded):
    incident = _incident(started_at=_at(5), detected_at=_at(1))

    with pytest.raises(ValidationError, match="before started at"):
        incident.full_clean()


def test_clean__published_without_public_summary__refused(seeded):
    incident = _incident(published=True)

    with pytest.raises(ValidationError, match="public summary"):
        incident.full_clean()


def test_severity_clean__total_shorter_than_a_phase__refused(seeded):
    severity = Severity.objects.get(key="critical")
    severity.total_minutes = 4

    with pytest.raises(ValidationError, match="total target"):
        severity.full_clean()


def test_timeline_entry__save_after_create__refused_and_unchanged(seeded):
    entry = TimelineEntry.objects.create(
        incident=_incident(), at=timezone.now(), source="person", kind="note", text="first"
    )
    entry.text = "rewritten"

    with pytest.raises(ValidationError, match="never edited"):
        entry.save()

    assert TimelineEntry.objects.get(pk=entry.pk).text == "first"


def test_timeline_entry__queryset_update__refused_by_the_database(seeded):
    entry = TimelineEntry.objects.create(
        incident=_incident(), at=timezone.now(), source="engine", kind="note", text="first"
    )

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        TimelineEntry.objects.filter(pk=entry.pk).update(text="rewritten")

    assert TimelineEntry.objects.get(pk=entry.pk).text == "first"


def test_timeline_entry__delete__refused(seeded):
    entry = TimelineEntry.objects.create(
        incident=_incident(), at=timezone.now(), source="engine", kind="note", text="first"
    )

    with pytest.raises(ValidationError, match="never deleted"):
        entry.delete()

    assert TimelineEntry.objects.filter(pk=entry.pk).exists()


def test_missing_report_fields__partly_written__names_the_rest(seeded):
    incident = _incident(error_logs="https://logs/x", root_cause="N+1 query")

    missing = incident.missing_report_fields()

    assert "error logs" not in missing and "root cause" not in missing
    assert {"affected functionality", "customer impact", "summary"} <= set(missing)


def test_seed__rerun_after_operator_edit__edit_kept(seeded):
    from core.seeding import seed_all

    Severity.objects.filter(key="critical").update(detection_minutes=3)

    report = seed_all()

    assert Severity.objects.get(key="critical").detection_minutes == 3
    assert any("critical: detection_minutes" in k for k in report.kept)
    assert not [c for c in report.created if "severity" in c]


@pytest.mark.parametrize("severity_key", [None, "high"])
def test_contact__same_address_twice_for_an_environment_and_severity__refused_by_the_database(seeded, severity_key):
    from django.db import IntegrityError

    from incidents.models import Contact

    staging = Environment.objects.get(key="staging")
    severity = Severity.objects.get(key=severity_key) if severity_key else None
    Contact.objects.create(environment=staging, severity=severity, email="lead@amarise.example")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(environment=staging, severity=severity, email="lead@amarise.example")
    other = None if severity else Severity.objects.get(key="high")
    Contact.objects.create(environment=staging, severity=other, email="lead@amarise.example")  # another rule: fine
    assert Contact.objects.filter(email="lead@amarise.example").count() == 2


def test_contact_constraint__embedded_sqlite_default__system_check_clean(tmp_path):
    # What `make run` checks on migrate: the database's own checks (W047 when SQLite cannot build a constraint).
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}} | {"VAR_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "manage.py", "check", "--database", "default"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr
