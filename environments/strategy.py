"""§1, §2 and §7 of the environment strategy, as data. seed_strategy loads it."""

from environments.choices import (
    AuthMode,
    DatabaseMode,
    DataPolicy,
    DeploymentStrategy,
    DeploySource,
    DeployTrigger,
    EmailMode,
    EnvironmentKey,
    PaymentsMode,
    StorageMode,
    VariableScope,
)

ENVIRONMENTS = [
    {
        "key": EnvironmentKey.LOCAL,
        "name": "Local",
        "order": 1,
        "purpose": "Individual development and testing",
        "url": "http://localhost:5173",
        "database": DatabaseMode.LOCAL,
        "payments": PaymentsMode.STRIPE_TEST,
        "email": EmailMode.CONSOLE,
        "storage": StorageMode.LOCAL_FILESYSTEM,
        "storage_bucket": "",
        "auth": AuthMode.MOCK,
        "deploy_source": DeploySource.NONE,
        "deploy_trigger": DeployTrigger.NONE,
        "deployment_strategy": DeploymentStrategy.NONE,
        "data_policy": DataPolicy.MOCK,
        "encrypted_at_rest": False,
        "backups_enabled": False,
        "monitoring_enabled": False,
        "alerting_enabled": False,
        # A developer's machine is not reachable from the console.
        "health_check_enabled": False,
        "features": "Hot module replacement\nSource maps enabled\nVerbose logging\n"
        "All feature flags enabled\nMock data available\nNo external dependencies required",
    },
    {
        "key": EnvironmentKey.DEV,
        "name": "Dev",
        "order": 2,
        "purpose": "Shared development, integration testing",
        "url": "https://dev.amarise.com",
        "database": DatabaseMode.INSTANCE,
        "payments": PaymentsMode.STRIPE_TEST,
        "email": EmailMode.SANDBOX,
        "storage": StorageMode.CLOUD_BUCKET,
        "storage_bucket": "amarise-dev",
        "auth": AuthMode.TEST_ACCOUNTS,
        "deploy_source": DeploySource.MAIN_BRANCH,
        "deploy_trigger": DeployTrigger.AUTO_ON_MERGE,
        "deployment_strategy": DeploymentStrategy.DIRECT,
        "data_policy": DataPolicy.RESET_NIGHTLY,
        "encrypted_at_rest": False,
        "backups_enabled": False,
        "monitoring_enabled": False,
        "alerting_enabled": False,
        "health_check_enabled": True,
        "features": "Deployed from main branch\nAuto-deploy on merge\nTest data seeded daily\n"
        "All feature flags configurable\nTest customer accounts\nNo real customer data",
    },
    {
        "key": EnvironmentKey.STAGING,
        "name": "Staging",
        "order": 3,
        "purpose": "Pre-production testing, UAT",
        "url": "https://staging.amarise.com",
        "database": DatabaseMode.INSTANCE,
        "payments": PaymentsMode.STRIPE_TEST,
        "email": EmailMode.SANDBOX_CAPTURE,
        "storage": StorageMode.CLOUD_BUCKET,
        "storage_bucket": "amarise-staging",
        "auth": AuthMode.PRODUCTION,
        "deploy_source": DeploySource.RELEASE_BRANCHES,
        "deploy_trigger": DeployTrigger.MANUAL,
        # Staging mirrors production, its release path included.
        "deployment_strategy": DeploymentStrategy.BLUE_GREEN,
        "data_policy": DataPolicy.ANONYMIZED_WEEKLY,
        "encrypted_at_rest": False,
        "backups_enabled": False,
        "monitoring_enabled": False,
        "alerting_enabled": False,
        "health_check_enabled": True,
        "features": "Deployed from release branches\nManual deploy trigger\n"
        "Production-like data (anonymized)\nFeature flags match production plan\n"
        "No real payment methods\nNo real emails sent",
    },
    {
        "key": EnvironmentKey.PRODUCTION,
        "name": "Production",
        "order": 4,
        "purpose": "Live customer-facing environment",
        "url": "https://amarise.com",
        "database": DatabaseMode.CLUSTER,
        "payments": PaymentsMode.STRIPE_LIVE,
        "email": EmailMode.PRODUCTION,
        "storage": StorageMode.CLOUD_BUCKET,
        "storage_bucket": "amarise-production",
        "auth": AuthMode.PRODUCTION,
        "deploy_source": DeploySource.RELEASE_TAGS,
        "deploy_trigger": DeployTrigger.MANUAL,
        "deployment_strategy": DeploymentStrategy.BLUE_GREEN,
        "data_policy": DataPolicy.REAL_CUSTOMER_DATA,
        "encrypted_at_rest": True,
        "backups_enabled": True,
        "monitoring_enabled": True,
        "alerting_enabled": True,
        "health_check_enabled": True,
        "features": "Deployed from release tags\nBlue-green deployment\nFull monitoring\n"
        "Alerting enabled\nDisaster recovery ready",
    },
]

_DEVELOPMENT = (EnvironmentKey.LOCAL, EnvironmentKey.DEV)

# (name, scope, environments, expected value, secret, description)
REQUIRED_VARIABLES = [
    ("DATABASE_URL", VariableScope.ALL, list(EnvironmentKey), "", True, "Database connection"),
    ("API_URL", VariableScope.ALL, list(EnvironmentKey), "", False, "Base URL of the platform API"),
    ("SITE_URL", VariableScope.ALL, list(EnvironmentKey), "", False, "Public URL of the storefront"),
    ("STRIPE_SECRET_KEY", VariableScope.PRODUCTION_ONLY, [EnvironmentKey.PRODUCTION], "", True, "Stripe live key"),
    ("EMAIL_API_KEY", VariableScope.PRODUCTION_ONLY, [EnvironmentKey.PRODUCTION], "", True, "Email service key"),
    ("STORAGE_BUCKET", VariableScope.PRODUCTION_ONLY, [EnvironmentKey.PRODUCTION], "", False, "Production bucket"),
    ("ANALYTICS_ID", VariableScope.PRODUCTION_ONLY, [EnvironmentKey.PRODUCTION], "", False, "Analytics property"),
    ("DEBUG", VariableScope.DEVELOPMENT_ONLY, list(_DEVELOPMENT), "true", False, "Debug mode"),
    ("VERBOSE_LOGGING", VariableScope.DEVELOPMENT_ONLY, list(_DEVELOPMENT), "true", False, "Verbose logs"),
]

HEALTH_CHECK_TASK = "environments.check_environment_health"
