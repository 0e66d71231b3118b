"""Backup alerts move onto monitoring's one alerting path: the latest BackupAlert of each check and database
becomes a monitoring Alert (firing if it was open), with its incident; then BackupAlert goes."""

import hashlib
import json
import re

from django.db import migrations

# Frozen copies of backups.services' identity and monitoring.alerts.console_fingerprint at this migration.
NAMES = {
    "rpo_breach": "BackupRpoBreached",
    "archiving_failed": "WalArchivingFailing",
    "full_too_old": "BackupFullStale",
    "incr_too_old": "BackupStale",
    "verify_failed": "BackupVerifyFailed",
    "backup_failed": "BackupFailed",
    "rto_missed": "RestoreDrillRtoMissed",
    "drill_failed": "RestoreDrillFailed",
    "bucket_drift": "AssetBucketDrift",
}
CRITICAL = {"rpo_breach", "rto_missed", "archiving_failed"}
INCIDENT_REF = re.compile(r"incident #(\d+)")


def fingerprint(labels):
    text = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return "console:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def labels_of(row):
    labels = {"check": row.kind}
    if row.kind == "bucket_drift" and (row.figures or {}).get("bucket"):
        labels["bucket"] = str(row.figures["bucket"])
    elif row.database_id:
        labels["stanza"] = row.database.stanza
    if row.kind in CRITICAL:
        labels["incident_severity"] = "high"
    severity = "critical" if row.kind in CRITICAL else "warning"
    return {**labels, "alertname": NAMES[row.kind], "environment": row.environment.key, "severity": severity}


def forwards(apps, schema_editor):
    BackupAlert = apps.get_model("backups", "BackupAlert")
    Alert = apps.get_model("monitoring", "Alert")
    AlertEvent = apps.get_model("monitoring", "AlertEvent")
    Incident = apps.get_model("incidents", "Incident")
    latest = {}
    for row in BackupAlert.objects.select_related("database", "environment").order_by("opened_at", "pk"):
        labels = labels_of(row)
        latest[fingerprint(labels)] = (row, labels)  # the newest of each identity wins
    for key, (row, labels) in latest.items():
        if Alert.objects.filter(fingerprint=key).exists():
            continue
        match = INCIDENT_REF.search(row.incident_ref or "")
        incident_id = int(match.group(1)) if match else None
        if incident_id and not Incident.objects.filter(pk=incident_id).exists():
            incident_id = None
        summary = row.summary + (" " + json.dumps(row.figures, default=str, sort_keys=True) if row.figures else "")
        status = "firing" if row.resolved_at is None else "resolved"
        alert = Alert.objects.create(
            fingerprint=key, name=labels["alertname"], environment_id=row.environment_id,
            severity=labels["severity"], status=status, labels=labels, summary=summary[:500], source="backups",
            starts_at=row.opened_at, ends_at=row.resolved_at, updated_at=row.last_seen_at, incident_id=incident_id,
        )  # fmt: skip
        AlertEvent.objects.create(alert=alert, at=row.opened_at, old_status="", new_status="firing",
                                  actor="backups", reason=f"firing: {row.summary}"[:1000])  # fmt: skip
        if row.resolved_at:
            AlertEvent.objects.create(alert=alert, at=row.resolved_at, old_status="firing", new_status="resolved",
                                      actor="backups", reason="resolved (moved from backup alerts)")  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0002_restore_drill_events"),
        ("monitoring", "0001_initial"),
        ("incidents", "0002_timeline_append_only"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.DeleteModel(name="BackupAlert"),
    ]
