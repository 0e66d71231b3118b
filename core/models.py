from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_LIFETIME = timedelta(days=90)
EXPIRY_WARNING = timedelta(days=7)


def default_expiry():
    return timezone.now() + TOKEN_LIFETIME


class SeedRecord(models.Model):
    """What seed_strategy last wrote to a row, so a re-seed can tell an operator's edit from its own.

    Keyed by the seed's lookup rather than the row's id: a row an operator deleted keeps its
    record, and the seed does not bring it back.
    """

    key = models.CharField(max_length=255, unique=True)
    values = models.JSONField(default=dict)
    seeded_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.key


class Scope(models.TextChoices):
    FLAGS_READ = "flags:read", "Read flags (documents, OFREP)"
    FLAGS_WRITE = "flags:write", "Change flag values"
    DEPLOYMENTS_WRITE = "deployments:write", "Start deployments, tick checklist items"
    RELEASES_WRITE = "releases:write", "Create releases"
    MIGRATIONS_WRITE = "migrations:write", "Register migrations, report them tested locally"
    INCIDENTS_WRITE = "incidents:write", "Manage who is told of incidents (stakeholders, on-call)"


class ServiceAccount(models.Model):
    """A user that is not a person (CI, the storefront): no usable password, no admin login, its own permissions."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_account")
    description = models.CharField(max_length=200, blank=True, help_text="What runs as it, e.g. 'GitHub Actions'.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]
        permissions = [("manage_service_accounts", "Can create service accounts and make tokens for them")]

    def __str__(self):
        return self.user.get_username()


class ApiToken(models.Model):
    """A credential for the console's APIs. It acts as its owner (its creator or a service account), within its
    scopes and environments, and never beyond the owner's own permissions. Only its digest is stored."""

    name = models.CharField(max_length=100, help_text="Who uses it, e.g. 'storefront production'.")
    prefix = models.CharField(max_length=24, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    scopes = models.JSONField(default=list)
    environments = models.ManyToManyField("environments.Environment", related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=default_expiry, help_text="90 days by default; warned a week before.")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API token"
        permissions = [("revoke_apitoken", "Can revoke API tokens")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
