"""Alertmanager webhook bodies (version 4), as Alertmanager sends them."""


def alert(name="ErrorRate", *, severity="critical", environment="production", status="firing", fingerprint=None,
          starts="2026-11-30T22:00:00.123456789Z", ends="0001-01-01T00:00:00Z", summary="Error rate above 5 %",
          **labels):  # fmt: skip
    labels = {"alertname": name, "severity": severity, "environment": environment, **labels}
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": summary, "value": "8.1 %"},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint or f"{abs(hash(tuple(sorted(labels.items())))):016x}"[:16],
    }


def notification(*alerts, status=None):
    status = status or ("firing" if any(a["status"] == "firing" for a in alerts) else "resolved")
    return {
        "version": "4",
        "groupKey": '{}:{alertname="ErrorRate"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "console-critical",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }
