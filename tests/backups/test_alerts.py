"""Backup checks on monitoring's one alerting path: a stable identity per check and database, so a failing
check raises one alert, resolves when it passes, and shows on the backups page. In-process: no cluster."""

import importlib
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from backups import monitor, services
from backups.choices import AlertKind
from backups.models import BackupRun, ProtectedDatabase
from monitoring.alerts import console_fingerprint
from monitoring.models import Alert
from tests.backups.conftest import backup_alert

pytestmark = pytest.mark.django_db


def test_check_backup_age__stale_twice_then_fresh__one_alert_raised_then_resolved(backups_seeded):
    # Given production's database with no backup at all
    database = ProtectedDatabase.objects.get()

    # When the age check runs twice
    monitor.check_backup_age(database_id=database.pk)
    monitor.check_backup_age(database_id=database.pk)

    # Then each stale check fires once, as a warning of production named after the check
    alert = backup_alert(AlertKind.INCR_TOO_OLD)
    assert Alert.objects.filter(name="BackupStale").count() == 1
    assert (alert.environment.key, alert.severity, alert.source) == ("production", "warning", "backups")
    assert alert.labels["stanza"] == database.stanza and alert.incident is None

    # And a good full backup resolves both
    BackupRun.objects.create(database=database, type="full", status="good", label="20260101-000000F",
                             started_at=timezone.now(), finished_at=timezone.now())  # fmt: skip
    assert monitor.check_backup_age(database_id=database.pk) == []
    assert not backup_alert(AlertKind.INCR_TOO_OLD) and not backup_alert(AlertKind.FULL_TOO_OLD)
    assert set(Alert.objects.values_list("status", flat=True)) == {"resolved"}


def test_raise_alert__rpo_breached__critical_with_a_high_incident_opened_by_the_alert(backups_seeded):
    database = ProtectedDatabase.objects.get()

    services.raise_alert(database=database, kind=AlertKind.RPO_BREACH, summary="worst-case loss 2 h",
                         figures={"rpo_s": 3600})  # fmt: skip

    alert = backup_alert(AlertKind.RPO_BREACH)
    assert alert.severity == "critical" and '"rpo_s": 3600' in alert.summary
    assert alert.incident.severity.key == "high" and alert.incident.opened_by == "alert"


def test_backups_page__open_alert__listed_from_monitoring_and_red(client, superuser, backups_seeded):
    database = ProtectedDatabase.objects.get()
    services.raise_alert(database=database, kind=AlertKind.VERIFY_FAILED, summary="verify found <b>errors</b>")
    client.force_login(superuser)

    body = client.get(reverse("admin:backups_protecteddatabase_page", args=[database.pk])).content.decode()

    assert "BackupVerifyFailed" in body and "verify found &lt;b&gt;errors&lt;/b&gt;" in body
    assert next(f for f in monitor.status(database) if f.name == "Open alerts").ok is False


def test_migration_identity__same_fingerprint_as_the_live_check():
    # The data migration carries frozen copies of the identity: they must land on the row the live check finds.
    migration = importlib.import_module("backups.migrations.0003_backup_alerts_to_monitoring")
    database = SimpleNamespace(stanza="production", environment=SimpleNamespace(key="production"))
    for kind in migration.NAMES:  # the kinds that existed then; later kinds never had BackupAlert rows
        row = SimpleNamespace(kind=kind, figures={}, database_id=1, database=database,
                              environment=database.environment)  # fmt: skip
        _, name, labels = services.alert_identity(kind, database=database)
        severity = "critical" if kind in services._INCIDENT_KINDS else "warning"
        live = {**labels, "alertname": name, "environment": "production", "severity": severity}
        assert migration.labels_of(row) == live
        assert migration.fingerprint(live) == console_fingerprint(live)


def test_page_action__check_rpo_now__queued_on_commit(client, superuser, backups_seeded,
                                                      django_capture_on_commit_callbacks):  # fmt: skip
    database = ProtectedDatabase.objects.get()
    client.force_login(superuser)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("admin:backups_protecteddatabase_act", args=[database.pk]), {"action": "rpo"},
                               follow=True)  # fmt: skip

    assert "RPO and backup-age checks queued" in response.content.decode()
    assert len(callbacks) == 1


def test_backup_status_refresh__cluster_unreachable__checks_run_alerts_raised_exit_1(backups_seeded, capsys):
    from django.core.management import call_command

    # Given production's database where nothing listens, and no backup yet
    ProtectedDatabase.objects.update(port=1)

    # When the periodic checks are run by hand
    with pytest.raises(SystemExit) as exit_:
        call_command("backup_status", "production", "--refresh")

    # Then they ran here: the RPO breach and the stale backups are alerts, and the status is red
    assert exit_.value.code == 1
    assert backup_alert(AlertKind.RPO_BREACH).severity == "critical"
    assert backup_alert(AlertKind.FULL_TOO_OLD) and backup_alert(AlertKind.INCR_TOO_OLD)
    assert "RED" in capsys.readouterr().out
