"""§6 as data: how migrations reach each environment's database."""

from environments.public import EnvironmentKey as K

# Per environment: the process variable holding its database URL (a secret: only the name is stored),
# and the timeouts each migration runs under. Seeded disabled: an operator enables a target once the worker
# has the variable; until then a release with pending migrations is refused there, never silently skipped.
TARGETS = {
    K.DEV: {
        "database_url_variable": "DEV_DATABASE_URL",
        "lock_timeout_ms": 5000,
        "statement_timeout_ms": 300000,
        "enabled": False,
    },
    K.STAGING: {
        "database_url_variable": "STAGING_DATABASE_URL",
        "lock_timeout_ms": 5000,
        "statement_timeout_ms": 900000,
        "enabled": False,
    },
    K.PRODUCTION: {
        "database_url_variable": "PRODUCTION_DATABASE_URL",
        "lock_timeout_ms": 3000,
        "statement_timeout_ms": 900000,
        "enabled": False,
    },
}

# Workflow of §6: dev runs automatically, staging is verified by a person, production needs staging verified.
LINT_ERRORS_BLOCK_FROM = K.STAGING  # "an error blocks promotion beyond dev"
ESTIMATE_REQUIRED_FROM = K.STAGING  # "the estimate is required before staging"
TESTED_LOCALLY_REQUIRED_FROM = K.STAGING
VERIFIED_ON = K.STAGING  # a person verifies runs here
VERIFICATION_REQUIRED_FOR = K.PRODUCTION  # every pending migration verified on staging first

# squawk's rules mapped onto the strategy's severity; any other squawk rule is a warning.
ERROR_RULES = frozenset(
    {"adding-required-field", "renaming-column", "renaming-table", "ban-drop-column", "ban-drop-table", "syntax-error"}
)
DROP_RULES = frozenset({"ban-drop-column", "ban-drop-table"})
