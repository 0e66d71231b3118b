"""Cache invalidation for token lookups: a revoke, rescope, expiry change or owner change drops it on commit."""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save

from core import tokens
from core.models import ApiToken


def _token_changed(sender, instance, **kwargs):
    if getattr(instance, "digest", None):  # m2m changes made from the environment side carry no token
        tokens.forget(instance.digest)


def _owner_changed(sender, instance, **kwargs):
    tokens.forget_owner(instance.pk)


def connect():
    for signal in (post_save, post_delete):
        signal.connect(_token_changed, sender=ApiToken, dispatch_uid="core_token_changed")
    m2m_changed.connect(_token_changed, sender=ApiToken.environments.through, dispatch_uid="core_token_scope")
    post_save.connect(_owner_changed, sender=get_user_model(), dispatch_uid="core_token_owner_changed")
