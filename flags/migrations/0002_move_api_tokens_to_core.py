"""API tokens move to core.ApiToken: same prefix and digest, so every token in use keeps working.

A token acted as its `acts_as` user; it now belongs to that user (its owner). A read token without one is
given to a service account with no permissions ("migrated-read-tokens"): reading flags needs none.
Write tokens keep the scopes they could use before (every write); all copied tokens expire in 90 days.
"""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

ALL_SCOPES = ["deployments:write", "flags:read", "flags:write", "migrations:write", "releases:write"]


def _read_tokens_owner(apps):
    User = apps.get_model("auth", "User")
    ServiceAccount = apps.get_model("core", "ServiceAccount")
    user, created = User.objects.get_or_create(
        username="migrated-read-tokens", defaults={"is_staff": False, "is_active": True, "password": "!"}
    )
    if created:
        ServiceAccount.objects.create(user=user, description="Owns read tokens made before tokens had owners.")
    return user


def copy_tokens(apps, schema_editor):
    Old = apps.get_model("flags", "ApiToken")
    New = apps.get_model("core", "ApiToken")
    expires_at = timezone.now() + timedelta(days=90)
    reader = None
    for old in Old.objects.all():
        owner = old.acts_as
        if owner is None:
            reader = reader or _read_tokens_owner(apps)
            owner = reader
        new = New.objects.create(
            name=old.name,
            prefix=old.prefix,
            digest=old.digest,
            owner=owner,
            created_by=None,
            scopes=ALL_SCOPES if old.can_write else ["flags:read"],
            expires_at=expires_at,
            revoked_at=old.revoked_at,
        )
        New.objects.filter(pk=new.pk).update(created_at=old.created_at)
        new.environments.set(old.environments.all())


class Migration(migrations.Migration):
    dependencies = [
        ("flags", "0001_initial"),
        ("core", "0002_api_tokens_and_service_accounts"),
    ]

    operations = [
        migrations.RunPython(copy_tokens, migrations.RunPython.noop),
        migrations.DeleteModel(name="ApiToken"),
    ]
