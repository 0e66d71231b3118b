"""The vocabulary of §1 and §2 of the strategy, as choices the console acts on."""

from django.db import models


class EnvironmentKey(models.TextChoices):
    LOCAL = "local", "Local"
    DEV = "dev", "Dev"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"


class Tier(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    PRE_PRODUCTION = "pre_production", "Pre-production"
    PRODUCTION = "production", "Production"


class DatabaseMode(models.TextChoices):
    LOCAL = "sqlite_or_local_postgres", "SQLite or local PostgreSQL"
    INSTANCE = "postgres_instance", "PostgreSQL instance"
    CLUSTER = "postgres_cluster", "PostgreSQL cluster"


class PaymentsMode(models.TextChoices):
    STRIPE_TEST = "stripe_test", "Stripe test mode"
    STRIPE_LIVE = "stripe_live", "Stripe live mode"


class EmailMode(models.TextChoices):
    CONSOLE = "console", "Logged to console"
    SANDBOX = "sandbox", "Sandbox (Mailtrap/Ethereal)"
    SANDBOX_CAPTURE = "sandbox_capture", "Sandbox with capture"
    PRODUCTION = "production", "Production email service"


class StorageMode(models.TextChoices):
    LOCAL_FILESYSTEM = "local_filesystem", "Local filesystem"
    CLOUD_BUCKET = "cloud_bucket", "Cloud storage bucket"


class AuthMode(models.TextChoices):
    MOCK = "mock", "Mock authentication"
    TEST_ACCOUNTS = "test_accounts", "Real auth (test accounts)"
    PRODUCTION = "production", "Production auth system"


class DeploySource(models.TextChoices):
    NONE = "none", "None (developer machines)"
    MAIN_BRANCH = "main_branch", "main branch"
    RELEASE_BRANCHES = "release_branches", "Release branches (release/*)"
    RELEASE_TAGS = "release_tags", "Release tags"


class DeployTrigger(models.TextChoices):
    NONE = "none", "None"
    AUTO_ON_MERGE = "auto_on_merge", "Auto-deploy on merge"
    MANUAL = "manual", "Manual trigger"


class DeploymentStrategy(models.TextChoices):
    NONE = "none", "None (hot reload)"
    DIRECT = "direct", "Direct"
    BLUE_GREEN = "blue_green", "Blue-green"


class DataPolicy(models.TextChoices):
    MOCK = "mock", "Mock data"
    RESET_NIGHTLY = "reset_nightly", "Reset nightly and seeded with test data"
    ANONYMIZED_WEEKLY = "anonymized_weekly", "Anonymized copy of production, refreshed weekly"
    REAL_CUSTOMER_DATA = "real_customer_data", "Real customer data, encrypted at rest, backed up"


class HealthStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    UP = "up", "Up"
    DOWN = "down", "Down"


class VariableScope(models.TextChoices):
    ALL = "all", "All environments"
    PRODUCTION_ONLY = "production_only", "Production only"
    DEVELOPMENT_ONLY = "development_only", "Development only"
