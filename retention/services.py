"""Prune each growing table to its retention period, in batches, with a PruneRun row saying what went.

`prune(policy_id=...)` is idempotent (rows already gone are not counted twice; a second run finds less or
nothing) and keyed by the policy: while a run of the same policy is running (started within STALE_AFTER),
another one returns it instead of starting. Each batch is its own short transaction, so a page reading the
table never waits behind a long delete, and a run stopped half-way leaves a consistent table behind.

A policy with roll-ups (`rollup_keep_days`) cuts at a whole hour and works a slab of hours at a time: in one
transaction the slab's hourly rows are upserted from its raw rows and those raw rows deleted, so a crash keeps
either both or neither, and no hour is ever rolled from part of its rows. Then roll-ups past their period go.
"""

from datetime import timedelta

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from core.tasks import enqueue
from retention.models import PruneRun, RetentionPolicy
from retention.rollups import floor_hour, rollup_for

PRUNE_TASK = "retention.prune"
RUN_PERMISSION = "retention.run_prune"
STALE_AFTER = timedelta(hours=1)  # a "running" row older than this was left by a worker that died
SLAB = timedelta(hours=24)  # hours rolled up and deleted per transaction: a day of minute checks is ~1,440 a series


class RetentionError(Exception):
    pass


def cutoff_for(policy, now):
    """The instant before which rows go, or None when the policy keeps every row. A plain function."""
    if not policy.enabled or not policy.keep_days:
        return None
    return now - timedelta(days=policy.keep_days)


def prune(*, policy_id, started_by="", now=None, max_batches=None) -> PruneRun | None:
    """Delete the policy's rows older than its period (rolled up first when it keeps roll-ups); the run row, or
    None when the policy keeps everything."""
    now = now or timezone.now()
    with transaction.atomic():
        policy = RetentionPolicy.objects.select_for_update().get(pk=policy_id)
        cutoff = cutoff_for(policy, now)
        if cutoff is None:
            return None
        model = policy.model()
        if model is None:
            raise RetentionError(f"No model is labelled {policy.table!r}: fix the retention policy.")
        rollup = rollup_for(policy.table) if policy.rolls_up else None
        if policy.rolls_up and rollup is None:  # never delete rows whose history was to be kept
            raise RetentionError(f"{policy.table} has no hourly roll-up registered: nothing pruned.")
        if rollup is not None:
            cutoff = floor_hour(cutoff)  # only whole hours go, each rolled up from all of its rows
        running = policy.runs.filter(status=PruneRun.Status.RUNNING, started_at__gte=now - STALE_AFTER).first()
        if running is not None:
            return running
        run = PruneRun.objects.create(policy=policy, table=policy.table, cutoff=cutoff, started_at=now,
                                      started_by=started_by[:200])  # fmt: skip
    try:
        if rollup is None:
            _delete_old(run, model, policy, cutoff, max_batches)
        else:
            _roll_up_and_delete(run, model, policy, rollup, cutoff, max_batches)
            _prune_rollups(run, policy, rollup, now, max_batches)
    except Exception as exc:
        run.status, run.error, run.finished_at = PruneRun.Status.FAILED, str(exc)[:2000], timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise
    run.status, run.finished_at = PruneRun.Status.DONE, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    return run


def _progress(run):
    PruneRun.objects.filter(pk=run.pk).update(removed=run.removed, batches=run.batches, rolled_up=run.rolled_up,
                                              rollups_removed=run.rollups_removed)  # fmt: skip


def _delete_batches(model, rows, batch_size, run, max_batches, counter):
    rows = rows.order_by()
    while max_batches is None or run.batches < max_batches:
        ids = list(rows.values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            removed, _ = model._base_manager.filter(pk__in=ids).delete()
        setattr(run, counter, getattr(run, counter) + (len(ids) if removed >= len(ids) else removed))
        run.batches += 1
        _progress(run)


def _delete_old(run, model, policy, cutoff, max_batches):
    old = model._base_manager.filter(**{f"{policy.time_field}__lt": cutoff})
    _delete_batches(model, old, policy.batch_size, run, max_batches, "removed")


def _roll_up_and_delete(run, model, policy, rollup, cutoff, max_batches):
    field = policy.time_field
    raw = model._base_manager.order_by()
    while max_batches is None or run.batches < max_batches:
        oldest = raw.filter(**{f"{field}__lt": cutoff}).order_by(field).values_list(field, flat=True).first()
        if oldest is None:
            break
        start = floor_hour(oldest)  # skips the empty days between series
        end = min(start + SLAB, cutoff)
        with transaction.atomic():
            written = rollup.roll(start, end)
            _, removed = raw.filter(**{f"{field}__gte": start, f"{field}__lt": end}).delete()
        run.rolled_up += written
        run.removed += removed.get(model._meta.label, 0)
        run.batches += 1
        _progress(run)


def _prune_rollups(run, policy, rollup, now, max_batches):
    hourly = apps.get_model(rollup.hourly)
    old = hourly._base_manager.filter(**{f"{rollup.hour_field}__lt": now - timedelta(days=policy.rollup_keep_days)})
    _delete_batches(hourly, old, policy.batch_size, run, max_batches, "rollups_removed")


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
