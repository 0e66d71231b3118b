"""Cache invalidation only: every committed change rewrites the affected environments' documents."""

from django.db.models.signals import post_delete, post_save


def _state_changed(sender, instance, **kwargs):
    from flags import documents

    try:
        key = instance.environment.key
    except Exception:  # the environment itself is being deleted; its own signal refreshes it
        return
    documents.refresh_on_commit(key)


def _flag_changed(sender, instance, **kwargs):
    from environments.public import Environment
    from flags import documents

    for key in Environment.objects.values_list("key", flat=True):
        documents.refresh_on_commit(key)


def _environment_changed(sender, instance, **kwargs):
    # Clears a negative-cache entry for a new environment, and the document of a deleted one.
    from flags import documents

    documents.refresh_on_commit(instance.key)


def connect():
    from environments.public import Environment
    from flags.models import Flag, FlagState

    for signal in (post_save, post_delete):
        signal.connect(_state_changed, sender=FlagState, dispatch_uid="flags_state_changed")
        signal.connect(_flag_changed, sender=Flag, dispatch_uid="flags_flag_changed")
        signal.connect(_environment_changed, sender=Environment, dispatch_uid="flags_environment_changed")
