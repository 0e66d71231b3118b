"""Flag rules shared by the admin, the API, imports and tasks: every change to a value goes through set_state."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, F, Max, Q, Window
from django.db.models.functions import Lag
from django.utils import timezone

from core.status import allowed, change_status, refusal
from core.tasks import enqueue
from environments.public import Environment, EnvironmentKey
from flags import conf, strategy
from flags.choices import (  # the permissions live with the vocabulary, so the admin reads them at start-up
    ADD_FLAG_PERMISSION,
    CHANGE_PERMISSION,
    DELETE_FLAG_PERMISSION,
    EDIT_FLAG_PERMISSION,
    IMPORT_PERMISSIONS,
    PRODUCTION_PERMISSION,
    ChangeKind,
    ChangeRequestStatus,
    Kind,
    ScheduledChangeStatus,
)
from flags.exceptions import FlagError, InvalidTransition, NotAllowed
from flags.models import ChangeRequest, Flag, FlagState, ScheduledChange


@dataclass
class Outcome:
    state: FlagState
    applied: bool = False
    change_request: ChangeRequest | None = None

    @property
    def message(self):
        # Environment first: the admin capitalises a message's first letter, and flag keys are case-sensitive.
        where = f"{self.state.environment.name}: {self.state.flag.key}"
        if self.change_request is not None:
            return f"{where} → change request #{self.change_request.pk} awaits another user's approval"
        if self.applied:
            return f"{where} is now {'on' if self.state.enabled else 'off'}"
        return f"{where} was already {'on' if self.state.enabled else 'off'}"


def _check_permission(actor, state):
    if actor is None or not actor.has_perm(CHANGE_PERMISSION):
        raise NotAllowed(f"{actor or 'Nobody'} may not change flag values.")
    if state.environment.is_production and not actor.has_perm(PRODUCTION_PERMISSION):
        raise NotAllowed(f"Changing production needs the 'Can change flag values in production' permission ({actor}).")


def may_change(actor, environment) -> bool:
    """Whether `actor` may change values in `environment` (in production a change request another approves)."""
    if actor is None or not actor.has_perm(CHANGE_PERMISSION):
        return False
    return not environment.is_production or actor.has_perm(PRODUCTION_PERMISSION)


def may_import(actor) -> bool:
    return actor is not None and actor.has_perms(IMPORT_PERMISSIONS)


def save_flag(*, flag: Flag, actor, reason: str) -> Flag:
    """Create or edit a flag's own fields (not its values); a new flag gets its cells by the strategy's rule."""
    new = flag.pk is None
    needed = ADD_FLAG_PERMISSION if new else EDIT_FLAG_PERMISSION
    if actor is None or not actor.has_perm(needed):
        verb = "add" if new else "change"
        raise NotAllowed(f"{actor or 'Nobody'} may not {verb} flags ({flag.key}).")
    with transaction.atomic():
        flag._change_reason = reason[:100]
        flag._history_user = actor
        flag.save()
        if new:
            create_missing_states(flag_id=flag.pk, actor=actor)
    return flag


def check_can_change(*, actor, state_id: int):
    """Raise NotAllowed unless `actor` may change this cell (for forms that validate before saving)."""
    _check_permission(actor, FlagState.objects.select_related("environment").get(pk=state_id))


def _clean_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise FlagError("Give a reason: it is kept in the audit history.")
    return reason[:100]


def _apply(state, enabled, *, actor, reason):
    if state.enabled == enabled:
        return Outcome(state=state)
    state.enabled = enabled
    state._change_reason = reason
    state._history_user = actor
    state.save(update_fields=["enabled", "updated_at"])
    return Outcome(state=state, applied=True)


def set_state(*, state_id: int, enabled: bool, actor, reason: str, source: str = "admin") -> Outcome:
    """Change one cell. In production, with change requests on, this files a request instead of applying."""
    if not isinstance(enabled, bool):
        raise FlagError(f"A flag value is true or false, not {enabled!r}.")
    reason = _clean_reason(reason)
    with transaction.atomic():
        state = FlagState.objects.select_for_update(of=("self",)).select_related("flag", "environment").get(pk=state_id)
        _check_permission(actor, state)
        if state.environment.is_production and conf.production_change_requests():
            if state.enabled == enabled:
                return Outcome(state=state)
            request = ChangeRequest(
                state=state, flag_key=state.flag.key, enabled=enabled, reason=reason, requested_by=actor, source=source
            )
            request._change_reason = f"requested via {source}"
            request._history_user = actor
            request.save()
            return Outcome(state=state, change_request=request)
        return _apply(state, enabled, actor=actor, reason=reason)


def create_missing_states(*, flag_id: int, actor) -> list[FlagState]:
    """A new flag gets one cell per environment, valued by §2's rule: on in Local and Dev, off elsewhere."""
    flag = Flag.objects.get(pk=flag_id)
    have = set(FlagState.objects.filter(flag=flag).values_list("environment_id", flat=True))
    created = []
    for env in Environment.objects.exclude(pk__in=have).order_by("order"):
        state = FlagState(flag=flag, environment=env, enabled=strategy.planned_value(flag.key, env.key))
        state._history_user = actor
        state._change_reason = "new flag"
        state.save()
        created.append(state)
    return created


def state_for(*, flag_key: str, environment_key: str) -> FlagState:
    try:
        return FlagState.objects.select_related("flag", "environment").get(
            flag__key=flag_key, environment__key=environment_key
        )
    except FlagState.DoesNotExist:
        raise FlagError(f"No flag {flag_key!r} in environment {environment_key!r}.") from None


def set_many(*, flag_ids, environment_id: int, enabled: bool, actor, reason: str, source="admin") -> list[Outcome]:
    """The bulk action: one set_state per flag, all or nothing."""
    states = FlagState.objects.filter(flag_id__in=flag_ids, environment_id=environment_id).order_by("flag__key")
    with transaction.atomic():
        return [
            set_state(state_id=pk, enabled=enabled, actor=actor, reason=reason, source=source)
            for pk in states.values_list("pk", flat=True)
        ]


# --- Change requests -------------------------------------------------------------------------------


def _locked_request(change_request_id):
    return (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("state__flag", "state__environment", "requested_by")
        .get(pk=change_request_id)
    )


def _refuse_unless_allowed(row, status):
    """Checked before the work a transition does (applying a value), so a refusal comes first."""
    if not allowed(row, status):
        raise InvalidTransition(refusal(row, status))


def _decide(request, status, *, actor, note):
    change_status(
        request,
        status,
        user=actor,
        reason=f"{status} by {actor}",
        fields={"decided_by": actor, "decided_at": timezone.now(), "note": (note or "")[:300]},
    )


def approve(*, change_request_id: int, actor, note: str = "") -> Outcome:
    """A second person approves a production change: it applies at once, audited with both names."""
    with transaction.atomic():
        request = _locked_request(change_request_id)
        if request.status == ChangeRequestStatus.APPLIED:
            return Outcome(state=request.state, change_request=None)
        _refuse_unless_allowed(request, ChangeRequestStatus.APPLIED)
        if actor.pk == request.requested_by_id:
            raise NotAllowed("You requested this change: another user must approve it.")
        state = (
            FlagState.objects.select_for_update(of=("self",))
            .select_related("flag", "environment")
            .get(pk=request.state_id)
        )
        _check_permission(actor, state)
        reason = f"{request.reason} (#{request.pk} by {request.requested_by}, approved by {actor})"
        if request.kind == ChangeKind.DELETE:
            _check_delete_permission(actor, state.flag, production=True)
            _decide(request, ChangeRequestStatus.APPLIED, actor=actor, note=note)
            _delete(state.flag, actor=actor, reason=reason)
            return Outcome(state=state, applied=True)
        outcome = _apply(state, request.enabled, actor=actor, reason=reason[:100])
        _decide(request, ChangeRequestStatus.APPLIED, actor=actor, note=note)
        return outcome


def reject(*, change_request_id: int, actor, note: str = "") -> ChangeRequest:
    with transaction.atomic():
        request = _locked_request(change_request_id)
        if request.status == ChangeRequestStatus.REJECTED:
            return request
        _refuse_unless_allowed(request, ChangeRequestStatus.REJECTED)
        if actor.pk == request.requested_by_id:
            raise NotAllowed("You requested this change: cancel it instead of rejecting it.")
        _check_permission(actor, request.state)
        _decide(request, ChangeRequestStatus.REJECTED, actor=actor, note=note)
        return request


def cancel(*, change_request_id: int, actor) -> ChangeRequest:
    with transaction.atomic():
        request = _locked_request(change_request_id)
        if request.status == ChangeRequestStatus.CANCELLED:
            return request
        _refuse_unless_allowed(request, ChangeRequestStatus.CANCELLED)
        if actor.pk != request.requested_by_id:
            raise NotAllowed("Only the requester can cancel a change request; reject it instead.")
        _decide(request, ChangeRequestStatus.CANCELLED, actor=actor, note="")
        return request


# --- Deleting a flag ------------------------------------------------------------------------------


def _check_delete_permission(actor, flag, *, production):
    if actor is None or not actor.has_perm(DELETE_FLAG_PERMISSION):
        raise NotAllowed(f"{actor or 'Nobody'} may not delete flags ({flag.key}).")
    if production and not actor.has_perm(PRODUCTION_PERMISSION):
        raise NotAllowed(
            f"Deleting {flag.key}, which production serves, needs the 'Can change flag values in production' "
            f"permission ({actor})."
        )


def production_state(flag):
    """The flag's production cell, or None: a flag with one is a production object."""
    production = FlagState.objects.filter(flag=flag, environment__key=EnvironmentKey.PRODUCTION)
    return production.select_related("environment").first()


def _delete(flag, *, actor, reason):
    # Its change requests outlive it (state set null): they keep its key, so the record still names it.
    ChangeRequest.objects.filter(state__flag=flag).update(flag_key=flag.key)
    ChangeRequest.objects.filter(state__flag=flag, status=ChangeRequestStatus.PENDING).exclude(
        kind=ChangeKind.DELETE
    ).update(status=ChangeRequestStatus.CANCELLED, note="The flag was deleted.")
    flag._history_user = actor
    flag._change_reason = reason[:100]
    flag.delete()


def delete_flag(*, flag_id: int, actor, reason: str, source: str = "admin") -> Outcome:
    """Delete a flag: the same four-eyes as changing it. A flag production serves becomes a change request of kind
    delete that a second person approves (then it goes from every environment); any other flag goes at once."""
    reason = _clean_reason(reason)
    with transaction.atomic():
        flag = Flag.objects.select_for_update().get(pk=flag_id)
        state = production_state(flag)
        _check_delete_permission(actor, flag, production=state is not None)
        if state is not None and conf.production_change_requests():
            pending = ChangeRequest.objects.filter(
                state=state, kind=ChangeKind.DELETE, status=ChangeRequestStatus.PENDING
            ).first()
            if pending is not None:
                return Outcome(state=state, change_request=pending)
            request = ChangeRequest(
                state=state, flag_key=flag.key, kind=ChangeKind.DELETE, enabled=state.enabled, reason=reason,
                requested_by=actor, source=source,
            )  # fmt: skip
            request._change_reason = f"deletion requested via {source}"
            request._history_user = actor
            request.save()
            return Outcome(state=state, change_request=request)
        _delete(flag, actor=actor, reason=f"Deleted by {actor}: {reason}")
        return Outcome(state=state or FlagState(flag=flag), applied=True)


# --- Audit -----------------------------------------------------------------------------------------


def revert(*, history_id: int, actor, reason: str = "") -> Outcome:
    """Undo one recorded change: set the cell back to the value it had before that change."""
    record = FlagState.history.filter(history_id=history_id).first()
    if record is None:
        raise FlagError(f"No recorded change #{history_id}.")
    previous = record.prev_record
    if previous is None:
        raise FlagError(f"Change #{history_id} created the cell; there is no earlier value to go back to.")
    reason = reason or f"Revert of change #{history_id}"
    return set_state(state_id=record.id, enabled=previous.enabled, actor=actor, reason=reason)


def audit_rows(flag: Flag, *, limit: int = 50):
    """The flag's changes, newest first, with old and new values: what the flag page shows."""
    rows = []
    # Each record's previous value comes from a window over the cell's history, not a query per row.
    records = (
        FlagState.history.filter(flag_id=flag.pk)
        .select_related("history_user", "environment")
        .annotate(
            previous_enabled=Window(
                Lag("enabled"), partition_by=[F("id")], order_by=[F("history_date"), F("history_id")]
            )
        )
        .order_by("-history_date", "-history_id")[:limit]
    )
    for record in records:
        previous = record.previous_enabled  # None: the cell's first record
        rows.append(
            {
                "id": record.history_id,
                "when": record.history_date,
                "who": record.history_user or "seed",
                "environment": record.environment,
                "old": previous,
                "new": record.enabled,
                "reason": record.history_change_reason or ("seeded" if record.history_type == "+" else ""),
                "revertible": previous is not None and previous != record.enabled and record.history_type == "~",
            }
        )
    return rows


# --- Environments ----------------------------------------------------------------------------------


def environment_diff(*, source_id: int, target_id: int):
    """[(flag key, source value, target value)] for every flag where the two environments differ."""
    if source_id == target_id:
        raise FlagError("Pick two different environments.")
    source = dict(FlagState.objects.filter(environment_id=source_id).values_list("flag__key", "enabled"))
    target = dict(FlagState.objects.filter(environment_id=target_id).values_list("flag__key", "enabled"))
    return [(key, source[key], target[key]) for key in sorted(source) if key in target and source[key] != target[key]]


def copy_environment(*, source_id: int, target_id: int, actor, reason: str = "") -> list[Outcome]:
    """Make the target's cells equal the source's, each through set_state (so production files requests)."""
    source = Environment.objects.get(pk=source_id)
    reason = reason or f"Copied from {source.name}"
    with transaction.atomic():
        outcomes = []
        for key, value, _ in environment_diff(source_id=source_id, target_id=target_id):
            state = FlagState.objects.get(flag__key=key, environment_id=target_id)
            outcomes.append(set_state(state_id=state.pk, enabled=value, actor=actor, reason=reason, source="copy"))
        return outcomes


@dataclass
class DriftReport:
    staging_vs_production: list[tuple[str, bool, bool]] = field(default_factory=list)
    off_plan: list[tuple[str, str, bool, bool]] = field(default_factory=list)  # key, env, planned, actual

    @property
    def clean(self):
        return not (self.staging_vs_production or self.off_plan)


def drift_report() -> DriftReport:
    """Where the environments disagree with the strategy: staging ≠ production, and cells off the seeded plan."""
    report = DriftReport()
    cells = {}
    for key, env, enabled in FlagState.objects.values_list("flag__key", "environment__key", "enabled"):
        cells.setdefault(key, {})[env] = enabled
    for key in sorted(cells):
        row = cells[key]
        if "staging" in row and "production" in row and row["staging"] != row["production"]:
            report.staging_vs_production.append((key, row["staging"], row["production"]))
    planned = strategy.plan()
    for key, *_ in strategy.FLAGS:
        for env in strategy.ENVIRONMENTS:
            if key in cells and env in cells[key] and cells[key][env] != planned[key][env]:
                report.off_plan.append((key, env, planned[key][env], cells[key][env]))
    return report


def stale_flags(*, days: int | None = None, now=None):
    """Flags with no change for `days` that are on everywhere or off everywhere. Kill switches never go stale."""
    days = conf.stale_days() if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    flags = (
        Flag.objects.exclude(kind=Kind.KILL_SWITCH)
        .annotate(
            last_change=Max("states__updated_at"),
            cells=Count("states"),
            on=Count("states", filter=Q(states__enabled=True)),
        )
        .filter(cells__gt=0, last_change__lt=cutoff)
        .order_by("key")
    )
    return [f for f in flags if f.on in (0, f.cells)]


# --- Scheduled changes -----------------------------------------------------------------------------


def schedule_change(*, state_id: int, enabled: bool, run_at, actor, reason: str) -> ScheduledChange:
    reason = _clean_reason(reason)
    state = FlagState.objects.select_related("flag", "environment").get(pk=state_id)
    _check_permission(actor, state)
    change = ScheduledChange(state=state, enabled=enabled, run_at=run_at, reason=reason, created_by=actor)
    change._history_user = actor
    change.save()
    return change


def due_scheduled_changes(*, now=None) -> list[int]:
    now = now or timezone.now()
    return list(
        ScheduledChange.objects.filter(status=ScheduledChangeStatus.SCHEDULED, run_at__lte=now).values_list(
            "pk", flat=True
        )
    )


def queue_due_scheduled_changes(*, now=None) -> list[int]:
    """Beat's poll: one apply task per due scheduled change, on commit (each claims its row, so repeats are safe)."""
    ids = due_scheduled_changes(now=now)
    for pk in ids:
        enqueue("flags.apply_scheduled_change", pk)
    return ids


def apply_scheduled_change(*, scheduled_change_id: int, now=None) -> str:
    """Claim the row (locked: only one worker wins) and apply it through set_state, in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        change = (
            ScheduledChange.objects.select_for_update(of=("self",))
            .select_related("created_by")
            .filter(pk=scheduled_change_id)
            .first()
        )
        if change is None or change.status != ScheduledChangeStatus.SCHEDULED or change.run_at > now:
            return f"#{scheduled_change_id}: not due or already handled"
        change_status(change, ScheduledChangeStatus.APPLYING, reason="applying")
        try:
            with transaction.atomic():
                outcome = set_state(
                    state_id=change.state_id,
                    enabled=change.enabled,
                    actor=change.created_by,
                    reason=f"{change.reason} (scheduled #{change.pk})",
                    source="schedule",
                )
        except FlagError as exc:
            status, fields = ScheduledChangeStatus.FAILED, {"outcome": str(exc)[:300]}
        else:
            fields = {"outcome": outcome.message[:300], "change_request": outcome.change_request}
            status = ScheduledChangeStatus.CHANGE_REQUESTED if outcome.change_request else ScheduledChangeStatus.APPLIED
        change_status(change, status, reason=status, fields={**fields, "applied_at": now})
        return f"#{change.pk}: {change.outcome}"


def cancel_scheduled_change(*, scheduled_change_id: int, actor) -> ScheduledChange:
    """Cancelling needs the permission to make the change (a production change: the production permission)."""
    with transaction.atomic():
        change = (
            ScheduledChange.objects.select_for_update(of=("self",))
            .select_related("state__environment")
            .get(pk=scheduled_change_id)
        )
        _check_permission(actor, change.state)
        change_status(change, ScheduledChangeStatus.CANCELLED, user=actor, reason="cancelled")
        return change
