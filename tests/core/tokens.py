"""Making API tokens in tests: straight to the table (the rules of making them are tested in test_auth)."""

from django.contrib.auth import get_user_model

from core import tokens
from core.models import ApiToken, ServiceAccount
from environments.models import Environment


def service_account(username="storefront", *perms):
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create(username=username, is_staff=False)
    user.set_unusable_password()
    user.save()
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    ServiceAccount.objects.create(user=user)
    return user


def make_token(owner, *, environments, scopes=("flags:read",), name="ci", **fields) -> str:
    """The raw value of a new token acting as `owner`."""
    raw, prefix, digest = tokens.generate()
    token = ApiToken.objects.create(name=name, prefix=prefix, digest=digest, owner=owner, scopes=list(scopes), **fields)
    token.environments.set(Environment.objects.filter(key__in=environments))
    return raw


def bearer(raw) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
