"""The incident report as Markdown. Excerpts pasted by people may carry credentials: they are redacted."""

import re

from incidents.choices import Phase

_SECRETS = [
    # scheme://user:password@host
    (re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+(?P<tail>@)", re.I), r"\g<head>[redacted]\g<tail>"),
    # Authorization: Bearer xxx / Basic xxx
    (re.compile(r"(?P<head>\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}", re.I), r"\g<head>[redacted]"),
    # password=..., token: ..., api_key=..., secret=...
    (
        re.compile(
            r"(?P<head>\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key)[\w-]*\b\s*[=:]\s*)"
            r"(?P<q>[\"']?)[^\s\"',;&]+(?P=q)",
            re.I,
        ),
        r"\g<head>[redacted]",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _when(value):
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "—"


def _duration(delta):
    if delta is None:
        return "—"
    seconds = int(delta.total_seconds())
    return f"{seconds // 60}m {seconds % 60:02d}s"


def _mark(met):
    return {True: "met", False: "**missed**", None: "—"}[met]


def _section(title, rows):
    out = [f"## {title}", ""]
    for label, value in rows:
        out += [f"### {label}", "", redact(value.strip()) or "_Not written yet._", ""]
    return out


def markdown(incident) -> str:
    sev = incident.severity
    lines = [
        f"# Incident #{incident.pk}: {redact(incident.title)}",
        "",
        f"- **Environment:** {incident.environment}",
        f"- **Severity:** {sev}",
        f"- **Status:** {incident.get_status_display()}",
        f"- **Release:** {incident.release or '—'}",
        f"- **Deployment:** {'#' + str(incident.deployment_id) if incident.deployment_id else '—'}",
        f"- **Cause:** {incident.get_cause_display() or 'opened by hand'}",
        "",
        "## Time to recover",
        "",
        "| Instant | At |",
        "|---|---|",
        *[
            f"| {label} | {_when(getattr(incident, name))} |"
            for label, name in [
                ("Impact began", "started_at"),
                ("Detected", "detected_at"),
                ("Decided", "decided_at"),
                ("Rollback executed", "executed_at"),
                ("Resolved", "resolved_at"),
            ]
        ],
        "",
        "| Phase | Took | Target | |",
        "|---|---|---|---|",
        *[
            f"| {phase.label} | {_duration(incident.duration(phase))} | < {sev.target(phase).seconds // 60} min "
            f"| {_mark(incident.met(phase))} |"
            for phase in Phase
        ],
        "",
    ]
    lines += _section(
        "Confirm",
        [
            ("Error logs reviewed", incident.error_logs),
            ("Affected functionality", incident.affected_functionality),
            ("Customer impact", incident.customer_impact),
        ],
    )
    lines += _section(
        "Investigate",
        [
            ("Root cause", incident.root_cause),
            ("Contributing factors", incident.contributing_factors),
            ("Hotfix", incident.hotfix_reference),
        ],
    )
    lines += _section("Document", [("Summary", incident.summary)])
    lines += ["### Runbook updates", ""]
    lines += [f"- [{'x' if r.done else ' '}] {r.link}{' — ' + redact(r.note) if r.note else ''}"
              for r in incident.runbook_updates.all()] or ["_None._"]  # fmt: skip
    lines += ["", "### Post-mortem", ""]
    if incident.postmortem_at:
        lines += [f"{_when(incident.postmortem_at)}, {incident.postmortem_minutes} min; attendees: "
                  f"{', '.join(incident.attendee_emails()) or '—'}"]  # fmt: skip
    else:
        lines += ["_Not scheduled._"]
    lines += ["", "### Action items", ""]
    items = list(incident.action_items.all())
    if items:
        lines += ["| Action | Owner | Due | Status |", "|---|---|---|---|"]
        lines += [
            f"| {redact(a.title)} | {a.owner} | {a.due_date:%Y-%m-%d} | {a.get_status_display()} |" for a in items
        ]
    else:
        lines += ["_None._"]
    lines += ["", "## Timeline", ""]
    for entry in incident.timeline.select_related("user"):
        who = entry.user.get_username() if entry.user_id else entry.get_source_display().lower()
        lines.append(f"- {entry.at:%Y-%m-%d %H:%M:%S} · {who} · {entry.kind}: {redact(entry.text)}")
    return "\n".join(lines) + "\n"
