from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from environments.choices import (
    AuthMode,
    DatabaseMode,
    DataPolicy,
    DeploymentStrategy,
    DeploySource,
    DeployTrigger,
    EmailMode,
    EnvironmentKey,
    HealthStatus,
    PaymentsMode,
    StorageMode,
    Tier,
    VariableScope,
)

_TIER_OF = {
    EnvironmentKey.LOCAL: Tier.DEVELOPMENT,
    EnvironmentKey.DEV: Tier.DEVELOPMENT,
    EnvironmentKey.STAGING: Tier.PRE_PRODUCTION,
    EnvironmentKey.PRODUCTION: Tier.PRODUCTION,
}

# How old an environment's data may get before the dashboard shows it red (§2).
_DATA_MAX_AGE = {
    DataPolicy.RESET_NIGHTLY: timedelta(days=1),
    DataPolicy.ANONYMIZED_WEEKLY: timedelta(days=7),
}


class Environment(models.Model):
    """One of the four environments of the strategy (§1, §2), in promotion order."""

    key = models.CharField(max_length=16, choices=EnvironmentKey.choices, unique=True)
    name = models.CharField(max_length=40)
    order = models.PositiveSmallIntegerField(unique=True, help_text="Promotion order: local first, production last.")
    purpose = models.CharField(max_length=200)
    url = models.URLField("URL")

    database = models.CharField(max_length=32, choices=DatabaseMode.choices)
    payments = models.CharField(max_length=16, choices=PaymentsMode.choices)
    email = models.CharField(max_length=16, choices=EmailMode.choices)
    storage = models.CharField(max_length=16, choices=StorageMode.choices)
    storage_bucket = models.CharField(max_length=100, blank=True, help_text="Bucket name, for cloud storage.")
    auth = models.CharField(max_length=16, choices=AuthMode.choices)

    deploy_source = models.CharField(max_length=20, choices=DeploySource.choices)
    deploy_trigger = models.CharField(max_length=16, choices=DeployTrigger.choices)
    deployment_strategy = models.CharField(max_length=16, choices=DeploymentStrategy.choices)

    data_policy = models.CharField(max_length=24, choices=DataPolicy.choices)
    encrypted_at_rest = models.BooleanField(default=False)
    backups_enabled = models.BooleanField(default=False)
    monitoring_enabled = models.BooleanField(default=False)
    alerting_enabled = models.BooleanField(default=False)
    features = models.TextField(blank=True, help_text="The strategy's feature notes, one per line.")

    health_check_enabled = models.BooleanField(
        default=True, help_text="Probe URL + health path on the beat schedule. Off for developer machines."
    )
    health_path = models.CharField(max_length=200, default="/", help_text="Path appended to the URL when probing.")
    last_health_status = models.CharField(max_length=8, choices=HealthStatus.choices, default=HealthStatus.UNKNOWN)
    last_health_checked_at = models.DateTimeField(null=True, blank=True)
    last_health_latency_ms = models.FloatField(null=True, blank=True)
    last_health_detail = models.CharField(max_length=300, blank=True)

    # Probe results change every minute; auditing them would drown the real edits.
    history = HistoricalRecords(
        excluded_fields=[
            "last_health_status",
            "last_health_checked_at",
            "last_health_latency_ms",
            "last_health_detail",
        ]
    )

    class Meta:
        ordering = ["order"]

    def __str__(self):
        return self.name

    @property
    def tier(self):
        return _TIER_OF[self.key]

    @property
    def is_production(self):
        return self.key == EnvironmentKey.PRODUCTION

    @property
    def holds_real_customer_data(self):
        return self.data_policy == DataPolicy.REAL_CUSTOMER_DATA

    @property
    def data_max_age(self):
        return _DATA_MAX_AGE.get(self.data_policy)

    @property
    def health_url(self):
        return self.url.rstrip("/") + "/" + self.health_path.lstrip("/")

    def clean(self):
        # The strategy's guarantees outside production: test payments, no real data, no real email.
        errors = {}
        if not self.is_production:
            if self.payments == PaymentsMode.STRIPE_LIVE:
                errors["payments"] = "Stripe live mode is for production only."
            if self.data_policy == DataPolicy.REAL_CUSTOMER_DATA:
                errors["data_policy"] = "Real customer data stays in production."
            if self.email == EmailMode.PRODUCTION:
                errors["email"] = "Only production sends real email."
        if self.storage == StorageMode.CLOUD_BUCKET and not self.storage_bucket:
            errors["storage_bucket"] = "Name the bucket for cloud storage."
        if errors:
            raise ValidationError(errors)


class RequiredVariable(models.Model):
    """A process variable an environment must (or must not) be given (§7)."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="required_variables")
    name = models.CharField(
        max_length=100,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9_]*$", "Use UPPER_SNAKE_CASE, e.g. DATABASE_URL.")],
    )
    scope = models.CharField(
        max_length=20,
        choices=VariableScope.choices,
        default=VariableScope.ALL,
        help_text="The strategy's heading this requirement comes from.",
    )
    expected_value = models.CharField(
        max_length=200, blank=True, help_text="Leave blank when any non-empty value will do (e.g. DEBUG=true)."
    )
    secret = models.BooleanField(default=False, help_text="Its value is never printed or stored by the console.")
    description = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["environment__order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "name"], name="required_variable_unique_per_environment")
        ]

    def __str__(self):
        return f"{self.name} ({self.environment})"

    def clean(self):
        if self.secret and self.expected_value:
            raise ValidationError({"expected_value": "A secret has no expected value: the console never stores one."})


class HealthCheck(models.Model):
    """One probe of an environment's URL, kept for the recent history shown in the admin."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="health_checks")
    checked_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=HealthStatus.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-checked_at"]
        indexes = [models.Index(fields=["environment", "-checked_at"], name="health_check_recent")]

    def __str__(self):
        return f"{self.environment} {self.status} at {self.checked_at:%Y-%m-%d %H:%M:%S}"
