"""Prune each growing table to its retention period, in batches, with a PruneRun row saying what went.

`prune(policy_id=...)` is idempotent (rows already gone are not counted twice; a second run finds less or
nothing) and keyed by the policy: while a run of the same policy is running (started within STALE_AFTER),
another one returns it instead of starting. Each batch is its own short transaction, so a page reading the
table never waits behind a long delete, and a run stopped half-way leaves a consistent table behind.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from core.tasks import enqueue
from retention.models import PruneRun, RetentionPolicy

PRUNE_TASK = "retention.prune"
RUN_PERMISSION = "retention.run_prune"
STALE_AFTER = timedelta(hours=1)  # a "running" row older than this was left by a worker that died


class RetentionError(Exception):
    pass


def cutoff_for(policy, now):
    """The instant before which rows go, or None when the policy keeps every row. A plain function."""
    if not policy.enabled or not policy.keep_days:
        return None
    return now - timedelta(days=policy.keep_days)


def prune(*, policy_id, started_by="", now=None, max_batches=None) -> PruneRun | None:
    """Delete the policy's rows older than its period; the run row, or None when the policy keeps everything."""
    now = now or timezone.now()
    with transaction.atomic():
        policy = RetentionPolicy.objects.select_for_update().get(pk=policy_id)
        cutoff = cutoff_for(policy, now)
        if cutoff is None:
            return None
        model = policy.model()
        if model is None:
            raise RetentionError(f"No model is labelled {policy.table!r}: fix the retention policy.")
        running = policy.runs.filter(status=PruneRun.Status.RUNNING, started_at__gte=now - STALE_AFTER).first()
        if running is not None:
            return running
        run = PruneRun.objects.create(policy=policy, table=policy.table, cutoff=cutoff, started_at=now,
                                      started_by=started_by[:200])  # fmt: skip
    old = model._base_manager.filter(**{f"{policy.time_field}__lt": cutoff}).order_by()
    try:
        while max_batches is None or run.batches < max_batches:
            ids = list(old.values_list("pk", flat=True)[: policy.batch_size])
            if not ids:
                break
            with transaction.atomic():
                removed, _ = model._base_manager.filter(pk__in=ids).delete()
            run.removed += len(ids) if removed >= len(ids) else removed
            run.batches += 1
            PruneRun.objects.filter(pk=run.pk).update(removed=run.removed, batches=run.batches)
    except Exception as exc:
        run.status, run.error, run.finished_at = PruneRun.Status.FAILED, str(exc)[:2000], timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise
    run.status, run.finished_at = PruneRun.Status.DONE, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    return run


def request_prune(*, actor, policy_ids) -> int:
    """The admin's "Prune now": enqueue one prune per policy (never run in the request). Returns how many."""
    if actor is None or not actor.has_perm(RUN_PERMISSION):
        raise PermissionDenied(f"{actor or 'Nobody'} may not run a prune by hand.")
    ids = list(RetentionPolicy.objects.filter(pk__in=policy_ids, enabled=True).exclude(keep_days=None)
               .values_list("pk", flat=True))  # fmt: skip
    for policy_id in ids:
        enqueue(PRUNE_TASK, policy_id)
    return len(ids)


def prune_all_enqueue() -> int:
    """Beat's job: one keyed prune task per policy that prunes."""
    ids = list(RetentionPolicy.objects.filter(enabled=True).exclude(keep_days=None).values_list("pk", flat=True))
    for policy_id in ids:
        enqueue(PRUNE_TASK, policy_id)
    return len(ids)
