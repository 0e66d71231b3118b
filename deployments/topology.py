"""Configuration as code (§9 "Configuration: version controlled"): the deployment topology in YAML.

apply() loads a file idempotently, all or nothing; export() writes the same shape back.
"""

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from deployments.choices import ACTIVE, SlotRole
from deployments.exceptions import DeploymentRefused
from deployments.models import Deployment, DeploymentPolicy, RollbackTrigger, Slot, SmokeCheck, TrafficStep
from environments.public import Environment

POLICY_FIELDS = [
    "strategy", "ref_kind", "ref_pattern", "auto_deploy", "checklist_required",
    "balancer", "balancer_socket", "balancer_backend",
    "executor", "deploy_command", "deploy_webhook_url", "deploy_timeout_seconds",
    "health_path", "health_interval_seconds", "health_passes_required",
    "sample_interval_seconds", "min_requests", "prometheus_url", "stale_after_seconds", "bake_minutes",
]  # fmt: skip
LISTS = {"traffic_steps", "triggers", "smoke_checks"}
STEP_FIELDS = {"weight", "hold_seconds"}
TRIGGER_FIELDS = {"kind", "threshold", "window_seconds", "action", "promql", "enabled"}
SMOKE_FIELDS = {"path", "expected_status", "body_contains"}
SLOT_FIELDS = {"address", "server_name"}


class TopologyError(DeploymentRefused):
    pass


def _unknown(where, given, allowed):
    extra = set(given) - set(allowed)
    if extra:
        raise TopologyError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")


def _clean(obj, where):
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        raise TopologyError(f"{where}: {detail}") from None


def load(text: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TopologyError(f"Not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("environments"), dict):
        raise TopologyError("The file must have a top-level 'environments' mapping.")
    return data


def apply(text: str) -> list[str]:
    """Apply a topology file; returns what changed. Refuses, changing nothing, on any error."""
    data = load(text)
    changes = []
    with transaction.atomic():
        for key, spec in data["environments"].items():
            environment = Environment.objects.filter(key=key).first()
            if environment is None:
                raise TopologyError(f"Unknown environment {key!r}.")
            if not isinstance(spec, dict):
                raise TopologyError(f"{key}: expected a mapping.")
            _unknown(key, spec, {"policy", "slots", "live"})
            if "policy" in spec:
                changes += _apply_policy(environment, spec["policy"])
            if "slots" in spec:
                changes += _apply_slots(environment, spec["slots"], spec.get("live"))
    return changes


def _apply_policy(environment, spec):
    _unknown(f"{environment.key}.policy", spec, [*POLICY_FIELDS, *LISTS])
    # Four-eyes is not topology: a new policy gets the seeded default, and only set_four_eyes changes it.
    policy = DeploymentPolicy.objects.filter(environment=environment).first() or DeploymentPolicy(
        environment=environment, four_eyes=environment.is_production
    )
    before = {f: getattr(policy, f) for f in POLICY_FIELDS}
    for field in POLICY_FIELDS:
        if field in spec:
            setattr(policy, field, spec[field] if spec[field] is not None else "")
    _clean(policy, f"{environment.key}.policy")
    policy.save()
    changes = [f"{environment.key}.policy.{f}" for f in POLICY_FIELDS if before[f] != getattr(policy, f)]

    if "traffic_steps" in spec:
        steps = []
        for i, step in enumerate(spec["traffic_steps"] or []):
            _unknown(f"{environment.key}.traffic_steps[{i}]", step, STEP_FIELDS)
            steps.append(TrafficStep(policy=policy, order=i, **step))
            _clean(steps[-1], f"{environment.key}.traffic_steps[{i}]")
        if steps and steps[-1].weight != 100:
            raise TopologyError(f"{environment.key}.traffic_steps must end at 100.")
        current = [(s.weight, s.hold_seconds) for s in policy.traffic_steps.all()]
        if current != [(s.weight, float(s.hold_seconds)) for s in steps]:
            policy.traffic_steps.all().delete()
            TrafficStep.objects.bulk_create(steps)
            changes.append(f"{environment.key}.traffic_steps")
    if "triggers" in spec:
        for i, trigger in enumerate(spec["triggers"] or []):
            where = f"{environment.key}.triggers[{i}]"
            _unknown(where, trigger, TRIGGER_FIELDS)
            obj = RollbackTrigger.objects.filter(policy=policy, kind=trigger.get("kind")).first() or RollbackTrigger(
                policy=policy
            )
            old = {f: getattr(obj, f, None) for f in TRIGGER_FIELDS}
            for field, value in trigger.items():
                setattr(obj, field, value if value is not None else "")
            _clean(obj, where)
            obj.save()
            if old != {f: getattr(obj, f) for f in TRIGGER_FIELDS}:
                changes.append(f"{environment.key}.triggers.{obj.kind}")
    if "smoke_checks" in spec:
        checks = []
        for i, check in enumerate(spec["smoke_checks"] or []):
            _unknown(f"{environment.key}.smoke_checks[{i}]", check, SMOKE_FIELDS)
            checks.append(SmokeCheck(policy=policy, **check))
            _clean(checks[-1], f"{environment.key}.smoke_checks[{i}]")
        current = [(c.path, c.expected_status, c.body_contains) for c in policy.smoke_checks.all()]
        if current != [(c.path, c.expected_status, c.body_contains) for c in checks]:
            policy.smoke_checks.all().delete()
            SmokeCheck.objects.bulk_create(checks)
            changes.append(f"{environment.key}.smoke_checks")
    return changes


def _apply_slots(environment, spec, live):
    if Deployment.objects.filter(environment=environment, status__in=ACTIVE).exists():
        raise TopologyError(f"{environment.key}: a deployment is in flight; change its slots after it ends.")
    _unknown(f"{environment.key}.slots", spec, {"blue", "green"})
    changes = []
    for color, values in spec.items():
        _unknown(f"{environment.key}.slots.{color}", values, SLOT_FIELDS)
        slot = Slot.objects.filter(environment=environment, color=color).first() or Slot(
            environment=environment, color=color, server_name=color
        )
        old = (slot.address, slot.server_name)
        for field, value in values.items():
            setattr(slot, field, value)
        _clean(slot, f"{environment.key}.slots.{color}")
        if slot.pk is None or old != (slot.address, slot.server_name):
            slot.save()
            changes.append(f"{environment.key}.slots.{color}")
    if live:
        if live not in spec:
            raise TopologyError(f"{environment.key}.live must name one of its slots.")
        # Only the first time: afterwards the engine owns which slot is live.
        if not Slot.objects.filter(environment=environment, role=SlotRole.LIVE).exists():
            Slot.objects.filter(environment=environment, color=live).update(role=SlotRole.LIVE)
            changes.append(f"{environment.key}.live={live}")
    return changes


def export() -> str:
    environments = {}
    for policy in DeploymentPolicy.objects.select_related("environment").order_by("environment__order"):
        spec = {"policy": {f: getattr(policy, f) for f in POLICY_FIELDS}}
        spec["policy"]["traffic_steps"] = [
            {"weight": s.weight, "hold_seconds": s.hold_seconds} for s in policy.traffic_steps.all()
        ]
        spec["policy"]["triggers"] = [
            {f: getattr(t, f) for f in ["kind", "threshold", "window_seconds", "action", "promql", "enabled"]}
            for t in policy.triggers.all()
        ]
        spec["policy"]["smoke_checks"] = [
            {"path": c.path, "expected_status": c.expected_status, "body_contains": c.body_contains}
            for c in policy.smoke_checks.all()
        ]
        slots = list(Slot.objects.filter(environment=policy.environment))
        if slots:
            spec["slots"] = {s.color: {"address": s.address, "server_name": s.server_name} for s in slots}
            live = [s.color for s in slots if s.role == SlotRole.LIVE]
            if live:
                spec["live"] = live[0]
        environments[policy.environment.key] = spec
    return yaml.safe_dump({"environments": environments}, sort_keys=False, allow_unicode=True)
