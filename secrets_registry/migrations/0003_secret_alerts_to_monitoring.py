"""Secret alerts move onto monitoring's one alerting path: the latest SecretAlert of each identity becomes a
monitoring Alert (firing if it was open); then SecretAlert goes."""

import hashlib
import json

from django.db import migrations


def fingerprint(labels):
    # A frozen copy of monitoring.alerts.console_fingerprint at this migration.
    text = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return "console:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def forwards(apps, schema_editor):
    SecretAlert = apps.get_model("secrets_registry", "SecretAlert")
    Alert = apps.get_model("monitoring", "Alert")
    AlertEvent = apps.get_model("monitoring", "AlertEvent")
    latest = {}
    for row in SecretAlert.objects.select_related("environment").order_by("raised_at", "pk"):
        severity = row.severity if row.severity in ("warning", "critical") else "warning"
        labels = {**{str(k): str(v) for k, v in (row.labels or {}).items()}, "alertname": row.name,
                  "environment": row.environment.key, "severity": severity}  # fmt: skip
        latest[fingerprint(labels)] = (row, labels)
    for key, (row, labels) in latest.items():
        if Alert.objects.filter(fingerprint=key).exists():
            continue
        status = "firing" if row.resolved_at is None else "resolved"
        alert = Alert.objects.create(
            fingerprint=key, name=row.name[:200], environment_id=row.environment_id, severity=labels["severity"],
            status=status, labels=labels, summary=row.summary[:500], source=row.source[:40] or "secrets_registry",
            starts_at=row.raised_at, ends_at=row.resolved_at, updated_at=row.resolved_at or row.raised_at,
        )  # fmt: skip
        AlertEvent.objects.create(alert=alert, at=row.raised_at, old_status="", new_status="firing",
                                  actor=alert.source, reason=f"firing: {row.summary}"[:1000])  # fmt: skip
        if row.resolved_at:
            AlertEvent.objects.create(alert=alert, at=row.resolved_at, old_status="firing", new_status="resolved",
                                      actor=alert.source, reason="resolved (moved from secret alerts)")  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("secrets_registry", "0002_audit_append_only"),
        ("monitoring", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.DeleteModel(name="SecretAlert"),
    ]
