"""§5 of the strategy as data: the rollback time targets and which cause gets which severity."""

# key, name, order, detection, decision, execution, total (minutes; a phase meets its target when shorter).
SEVERITIES = [
    ("critical", "Critical", 1, 2, 3, 5, 10),
    ("high", "High", 2, 5, 10, 5, 20),
    ("medium", "Medium", 3, 15, 30, 5, 50),
]

# Rollback cause -> severity key. The automatic 5xx rollback is the one the strategy acts on at once.
SEVERITY_POLICY = {
    "error_rate": "critical",
    "p95_latency": "high",
    "health_check": "high",
    "engine": "high",
    "manual": "high",
}

REMINDER_TASK = "incidents.send_reminders"

# Seeded per environment (the same address as monitoring's on-call channel); the README says to change it.
ONCALL_EMAIL = "oncall-{key}@amarise.invalid"

# The report is complete when these are filled (Confirm, Investigate, Document).
REPORT_FIELDS = ["error_logs", "affected_functionality", "customer_impact", "root_cause", "summary"]
