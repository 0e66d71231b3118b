"""Cache invalidation only: every committed change rewrites the affected environments' documents."""

from django.db.models.signals import m2m_changed, post_delete, post_save

from flags import documents, tokens


def _state_changed(sender, instance, **kwargs):
    try:
        key = instance.environment.key
    except Exception:  # the environment itself is being deleted; its own signal refreshes it
        return
    documents.refresh_on_commit(key)


def _flag_changed(sender, instance, **kwargs):
    from environments.public import Environment

    for key in Environment.objects.values_list("key", flat=True):
        documents.refresh_on_commit(key)


def _environment_changed(sender, instance, **kwargs):
    # Clears a negative-cache entry for a new environment, and the document of a deleted one.
    documents.refresh_on_commit(instance.key)


def _token_changed(sender, instance, **kwargs):
    if getattr(instance, "digest", None):  # m2m changes made from the environment side carry no token
        tokens.forget(instance.digest)


def connect():
    from environments.public import Environment
    from flags.models import ApiToken, Flag, FlagState

    for signal in (post_save, post_delete):
        signal.connect(_state_changed, sender=FlagState, dispatch_uid="flags_state_changed")
        signal.connect(_flag_changed, sender=Flag, dispatch_uid="flags_flag_changed")
        signal.connect(_environment_changed, sender=Environment, dispatch_uid="flags_environment_changed")
        signal.connect(_token_changed, sender=ApiToken, dispatch_uid="flags_token_changed")
    m2m_changed.connect(_token_changed, sender=ApiToken.environments.through, dispatch_uid="flags_token_scope")
