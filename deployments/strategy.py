"""§4 and §5 of the strategy as data: policies per environment, triggers, checklist."""

from deployments.choices import ChecklistPhase, RefKind, Strategy, TriggerAction, TriggerKind
from environments.public import EnvironmentKey

POLICIES = {
    EnvironmentKey.DEV: {
        "strategy": Strategy.DIRECT,
        "ref_kind": RefKind.BRANCH,
        "ref_pattern": "main",
        "auto_deploy": True,
        "checklist_required": False,
        "four_eyes": False,
        "bake_minutes": 0,
    },
    EnvironmentKey.STAGING: {
        "strategy": Strategy.BLUE_GREEN,
        "ref_kind": RefKind.BRANCH,
        "ref_pattern": "release/*",
        "auto_deploy": False,
        "checklist_required": False,
        "four_eyes": False,
        "bake_minutes": 15,
    },
    EnvironmentKey.PRODUCTION: {
        "strategy": Strategy.BLUE_GREEN,
        "ref_kind": RefKind.TAG,
        "ref_pattern": "v*",
        "auto_deploy": False,
        "checklist_required": True,
        "four_eyes": True,
        "bake_minutes": 60,
    },
}

# 10% → 50% → 100%, each held for the triggers' 5-minute window.
TRAFFIC_STEPS = [(10, 300), (50, 300), (100, 300)]

# Smoke checks every seeded policy starts with, against the idle slot: the home page and the health path.
SMOKE_CHECKS = [("/", 200), ("{health_path}", 200)]

TRIGGERS = [
    {"kind": TriggerKind.ERROR_RATE, "threshold": 5.0, "window_seconds": 300, "action": TriggerAction.ROLLBACK},
    {"kind": TriggerKind.P95_LATENCY, "threshold": 3.0, "window_seconds": 300, "action": TriggerAction.PAUSE},
    {"kind": TriggerKind.HEALTH_CHECK, "threshold": 3, "window_seconds": 0, "action": TriggerAction.REMOVE},
]

# (key, phase, text, settable by CI)
CHECKLIST = [
    ("all_tests_passing", ChecklistPhase.PRE, "All tests passing", True),
    ("code_review_approved", ChecklistPhase.PRE, "Code review approved", True),
    ("changelog_updated", ChecklistPhase.PRE, "Changelog updated", False),
    ("migrations_tested", ChecklistPhase.PRE, "Database migrations tested", False),
    ("flags_configured", ChecklistPhase.PRE, "Feature flags configured", False),
    ("rollback_plan_documented", ChecklistPhase.PRE, "Rollback plan documented", False),
    # Evaluated by the secrets registry (§7): every required variable resolves to a secret in the manager.
    ("secrets_present", ChecklistPhase.PRE, "Required variables and secrets present", False),
    ("deploy_inactive", ChecklistPhase.DEPLOY, "Deploy to inactive environment", False),
    ("run_smoke_tests", ChecklistPhase.DEPLOY, "Run smoke tests", False),
    ("verify_health_checks", ChecklistPhase.DEPLOY, "Verify health checks", False),
    ("switch_traffic", ChecklistPhase.DEPLOY, "Switch traffic gradually (10% → 50% → 100%)", False),
    ("monitor_error_rates", ChecklistPhase.DEPLOY, "Monitor error rates", False),
    ("verify_user_journeys", ChecklistPhase.POST, "Verify key user journeys", False),
    ("check_performance", ChecklistPhase.POST, "Check performance metrics", False),
    ("review_error_logs", ChecklistPhase.POST, "Review error logs", False),
    ("update_status_page", ChecklistPhase.POST, "Update status page", False),
    ("notify_stakeholders", ChecklistPhase.POST, "Notify stakeholders", False),
]

RECONCILE_TASK = "deployments.reconcile_deployments"

# §4 "Verify key user journeys", seeded for every environment and editable per policy. A step is
# (name, method, path, form, expected status, body text expected). Cookies carry over between a journey's steps;
# checkout stops at the payment step, in the payment provider's sandbox.
_PRODUCT = ("Product page", "GET", "/products/silk-scarf", "", 200, "Add to cart")
_ADD = ("Add to cart", "POST", "/cart/add", "product=silk-scarf&quantity=1", 200, "Added to cart")
JOURNEYS = [
    ("Home page", [("Home page", "GET", "/", "", 200, "AMARISÉ")]),
    ("Product page", [_PRODUCT]),
    ("Add to cart", [_PRODUCT, _ADD, ("Cart", "GET", "/cart", "", 200, "silk-scarf")]),
    (
        "Checkout to payment (sandbox)",
        [
            _PRODUCT,
            _ADD,
            ("Checkout", "GET", "/checkout", "", 200, "Shipping"),
            ("Shipping", "POST", "/checkout/shipping", "country=FR&method=standard", 200, "Payment"),
            ("Payment step", "GET", "/checkout/payment?sandbox=1", "", 200, "sandbox"),
        ],
    ),
]
POST_DEPLOY_TASK = "postdeploy.run_due"
POST_DEPLOY_EVERY_MINUTES = 5
