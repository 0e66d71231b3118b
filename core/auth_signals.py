"""Cache invalidation for token lookups: a revoke, rescope, expiry change or owner change drops it on commit."""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from core.models import ApiToken, ServiceAccount


def _token_changed(sender, instance, **kwargs):
    from core import tokens

    if getattr(instance, "digest", None):  # m2m changes made from the environment side carry no token
        tokens.forget(instance.digest)


def _owner_changed(sender, instance, **kwargs):
    from core import tokens

    tokens.forget_owner(instance.pk)


def _service_account_stays_a_machine(sender, instance, **kwargs):
    # Whoever edits the user (the user admin, a shell), a service account never gets a password or the admin.
    if instance.pk and ServiceAccount.objects.filter(user_id=instance.pk).exists():
        instance.is_staff = instance.is_superuser = False
        if instance.has_usable_password():
            instance.set_unusable_password()


def connect():
    for signal in (post_save, post_delete):
        signal.connect(_token_changed, sender=ApiToken, dispatch_uid="core_token_changed")
    m2m_changed.connect(_token_changed, sender=ApiToken.environments.through, dispatch_uid="core_token_scope")
    pre_save.connect(_service_account_stays_a_machine, sender=get_user_model(), dispatch_uid="core_service_account")
    post_save.connect(_owner_changed, sender=get_user_model(), dispatch_uid="core_token_owner_changed")
