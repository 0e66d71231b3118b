import fnmatch
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core import config_values
from core.git_refs import ref_problem
from deployments.choices import (
    ACTIVE,
    FINAL,
    TRANSITIONS,
    Actor,
    BalancerKind,
    ChecklistPhase,
    Color,
    DeploymentStatus,
    ExecutorKind,
    RefKind,
    SlotRole,
    StepStatus,
    Strategy,
    TriggerAction,
    TriggerKind,
)
from deployments.exceptions import InvalidTransition

_ADDRESS = RegexValidator(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$", "Use host:port, e.g. 10.0.0.12:8080.")


class DeploymentPolicy(models.Model):
    """How releases reach one environment (§4, §5): source rule, strategy, drivers, timings."""

    environment = models.OneToOneField(
        "environments.Environment", on_delete=models.CASCADE, related_name="deployment_policy"
    )
    strategy = models.CharField(max_length=16, choices=Strategy.choices)
    ref_kind = models.CharField("source ref kind", max_length=8, choices=RefKind.choices)
    ref_pattern = models.CharField(
        "source ref pattern", max_length=100, help_text="Glob the release ref must match: main, release/*, v*."
    )
    auto_deploy = models.BooleanField(default=False, help_text="Deploy on a git push that matches the source rule.")
    checklist_required = models.BooleanField(
        default=False, help_text="Every pre-deployment item must be checked by a person before the engine starts."
    )
    four_eyes = models.BooleanField(
        "four-eyes",
        default=False,
        help_text="A deployment starts only after a second person with the approve permission approves it. "
        "Turn off only for a team of one; the switch is recorded.",
    )
    four_eyes_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    four_eyes_changed_at = models.DateTimeField(null=True, blank=True)
    four_eyes_reason = models.CharField(max_length=200, blank=True)

    balancer = models.CharField(max_length=16, choices=BalancerKind.choices, default=BalancerKind.HAPROXY)
    balancer_socket = models.CharField(
        max_length=200, blank=True, help_text="HAProxy runtime API: /run/haproxy/admin.sock or tcp:127.0.0.1:9999."
    )
    balancer_backend = models.CharField(max_length=100, blank=True, default="storefront")

    executor = models.CharField(max_length=16, choices=ExecutorKind.choices, default=ExecutorKind.COMMAND)
    deploy_command = models.CharField(
        max_length=500, blank=True, help_text="Run to deploy, e.g. ./deploy.sh {slot} {ref}. Also {version}, {address}."
    )
    deploy_webhook_url = models.URLField(blank=True)
    deploy_timeout_seconds = models.PositiveIntegerField(default=600)

    health_path = models.CharField(max_length=200, default="/healthz")
    health_interval_seconds = models.FloatField(default=5, validators=[MinValueValidator(0.1)])
    health_passes_required = models.PositiveSmallIntegerField(default=3)
    sample_interval_seconds = models.FloatField(
        default=5, validators=[MinValueValidator(0.1)], help_text="How often the engine samples the load balancer."
    )
    min_requests = models.PositiveIntegerField(
        default=100, help_text="Below this many requests in a window, it is inconclusive: pause, do not pass."
    )
    prometheus_url = models.URLField(blank=True, help_text="Prometheus HTTP API for PromQL triggers (p95).")
    bake_minutes = models.PositiveIntegerField(
        "bake period (minutes)",
        default=0,
        help_text="After 100%, the live slot stays watched this long; the previous release waits on standby.",
    )
    stale_after_seconds = models.FloatField(
        default=60, help_text="A running deployment with no engine heartbeat for this long is reconciled."
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "deployment policies"

    def __str__(self):
        return f"{self.environment} policy"

    @property
    def is_blue_green(self):
        return self.strategy == Strategy.BLUE_GREEN

    def source_rule(self):
        return f"{self.get_ref_kind_display().lower()} {self.ref_pattern}"

    def clean(self):
        # The backend goes into HAProxy runtime API commands: one argument, never a second command.
        errors = config_values.problems(self, ["balancer_backend"], forbidden=config_values.HAPROXY_NAME)
        errors.update(config_values.problems(self, ["balancer_socket", "health_path"]))
        if errors:
            raise ValidationError(errors)

    def refusal_for(self, release):
        """Why `release` may not go to this environment, or '' when it may."""
        if release.ref_kind != self.ref_kind or not fnmatch.fnmatchcase(release.ref, self.ref_pattern):
            return (
                f"{self.environment} deploys from {self.source_rule()}; release {release.version} is "
                f"{release.get_ref_kind_display().lower()} {release.ref}."
            )
        return ""


class TrafficStep(models.Model):
    policy = models.ForeignKey(DeploymentPolicy, on_delete=models.CASCADE, related_name="traffic_steps")
    order = models.PositiveSmallIntegerField()
    weight = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(100)], help_text="Percent of traffic on the new slot."
    )
    hold_seconds = models.FloatField(default=300, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["policy", "order"], name="traffic_step_unique_order")]

    def __str__(self):
        return f"{self.weight}% for {self.hold_seconds:g}s"


class RollbackTrigger(models.Model):
    """One automatic rollback trigger of §5, tunable by ops."""

    policy = models.ForeignKey(DeploymentPolicy, on_delete=models.CASCADE, related_name="triggers")
    kind = models.CharField(max_length=16, choices=TriggerKind.choices)
    threshold = models.FloatField(help_text="Error rate in %, p95 in seconds, or consecutive health failures.")
    window_seconds = models.FloatField(default=300)
    action = models.CharField(max_length=16, choices=TriggerAction.choices)
    promql = models.CharField(
        "PromQL",
        max_length=500,
        blank=True,
        help_text="Query returning one value (p95, s); {slot} becomes the new slot's color.",
    )
    enabled = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind"]
        constraints = [models.UniqueConstraint(fields=["policy", "kind"], name="rollback_trigger_unique_kind")]

    def __str__(self):
        unit = {"error_rate": "%", "p95_latency": " s", "health_check": " failures"}[self.kind]
        return f"{self.get_kind_display()} > {self.threshold:g}{unit} → {self.get_action_display().lower()}"


class SmokeCheck(models.Model):
    """An HTTP check run against the idle slot directly, before any traffic."""

    policy = models.ForeignKey(DeploymentPolicy, on_delete=models.CASCADE, related_name="smoke_checks")
    path = models.CharField(max_length=200)
    expected_status = models.PositiveSmallIntegerField(default=200)
    body_contains = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"GET {self.path} → {self.expected_status}"


class Slot(models.Model):
    """One of an environment's two blue-green slots."""

    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE, related_name="slots")
    color = models.CharField(max_length=8, choices=Color.choices)
    address = models.CharField(max_length=200, validators=[_ADDRESS], help_text="host:port of the slot's backend.")
    server_name = models.CharField(max_length=100, help_text="The server's name in the load balancer's backend.")
    release = models.ForeignKey("Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    role = models.CharField(max_length=16, choices=SlotRole.choices, default=SlotRole.IDLE)

    history = HistoricalRecords()

    class Meta:
        ordering = ["environment__order", "color"]
        constraints = [models.UniqueConstraint(fields=["environment", "color"], name="slot_unique_color")]

    def __str__(self):
        return f"{self.environment} {self.color}"

    @property
    def base_url(self):
        return f"http://{self.address}"

    def clean(self):
        # The server name goes into HAProxy runtime API commands: one argument, never a second command.
        errors = config_values.problems(self, ["server_name"], forbidden=config_values.HAPROXY_NAME)
        if errors:
            raise ValidationError(errors)


class Release(models.Model):
    version = models.CharField(max_length=100, unique=True)
    ref = models.CharField(max_length=200, help_text="Branch or tag name, e.g. release/2.0 or v2.0.")
    ref_kind = models.CharField(max_length=8, choices=RefKind.choices)
    commit = models.CharField(
        max_length=40, blank=True, validators=[RegexValidator(r"^[0-9a-f]{7,40}$", "A git commit SHA.")]
    )
    changelog = models.TextField(blank=True)
    source = models.CharField(max_length=8, choices=Actor.choices, default=Actor.PERSON)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        # Recent releases first (the start page's dropdown, the release filters), without sorting a year of them.
        indexes = [models.Index(fields=["-created_at", "-id"], name="release_newest")]

    def __str__(self):
        return self.version

    def clean(self):
        # Versions and refs travel into deploy commands, URLs and git: git's own ref rules apply to both.
        errors = {}
        for name in ("version", "ref"):
            problem = ref_problem(getattr(self, name) or "")
            if problem:
                errors[name] = f"Not a valid git ref name: {problem}."
        if errors:
            raise ValidationError(errors)


class ChecklistItem(models.Model):
    """An item of the §4 deployment checklist."""

    key = models.SlugField(max_length=50, unique=True)
    phase = models.CharField(max_length=8, choices=ChecklistPhase.choices)
    order = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=200)
    ci_settable = models.BooleanField(default=False, help_text="CI may report this item through the API.")

    class Meta:
        ordering = ["phase", "order"]

    def __str__(self):
        return self.text


class Deployment(models.Model):
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="deployments")
    environment = models.ForeignKey("environments.Environment", on_delete=models.PROTECT, related_name="deployments")
    status = models.CharField(max_length=20, choices=DeploymentStatus.choices, default=DeploymentStatus.PENDING)
    strategy = models.CharField(max_length=16, choices=Strategy.choices)
    from_slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    traffic_weight = models.PositiveSmallIntegerField(default=0, help_text="Percent of traffic on the new slot.")
    traffic_step = models.SmallIntegerField(default=-1, help_text="Index of the traffic step being held.")
    hold_started_at = models.DateTimeField(null=True, blank=True)
    paused_from = models.CharField(max_length=20, choices=DeploymentStatus.choices, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)
    awaiting_weights = models.CharField(
        max_length=100, blank=True, help_text="Weights a person must set on a manual load balancer, then confirm."
    )
    weights_confirmed_at = models.DateTimeField(null=True, blank=True)
    health_passes = models.PositiveSmallIntegerField(default=0)
    health_failures = models.PositiveSmallIntegerField(default=0)

    # The engine's claim: a tick carrying another token is stale and exits.
    run_token = models.UUIDField(default=uuid.uuid4)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    # The three rollback instants (§5), read by incident reports.
    detected_at = models.DateTimeField(null=True, blank=True, help_text="First sample over the threshold.")
    decided_at = models.DateTimeField(null=True, blank=True, help_text="The engine's or a person's decision.")
    executed_at = models.DateTimeField(null=True, blank=True, help_text="Weights applied and verified.")
    watching_until = models.DateTimeField(
        null=True, blank=True, help_text="End of the bake period: until then the live slot is watched."
    )
    rollback_trigger = models.ForeignKey(RollbackTrigger, null=True, blank=True, on_delete=models.SET_NULL)
    rollback_automatic = models.BooleanField(default=False)
    rollback_reason = models.CharField(max_length=300, blank=True)
    release_note = models.TextField(
        "public release note",
        max_length=1000,
        blank=True,
        help_text="Optional. Published on the public status page when the deployment succeeds.",
    )
    release_note_published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # The admin list's order (its -pk breaks ties).
        indexes = [models.Index(fields=["-created_at", "-id"], name="deployment_newest")]
        constraints = [
            # Only one deployment may be in flight per environment, whoever starts it.
            models.UniqueConstraint(
                fields=["environment"],
                condition=Q(status__in=sorted(ACTIVE)),
                name="one_active_deployment_per_environment",
            )
        ]
        permissions = [
            ("operate_deployment", "Can start, continue, roll back and abort deployments"),
            ("check_checklist", "Can check deployment checklist items"),
            ("deploy_production", "Can start, continue, roll back and abort production deployments"),
            ("approve_deployment", "Can approve another person's deployment (four-eyes)"),
        ]

    def __str__(self):
        return f"{self.release} → {self.environment} (#{self.pk})"

    @property
    def is_active(self):
        return self.status in ACTIVE

    @property
    def is_watching(self):
        """Succeeded and still in its bake period."""
        return (
            self.status == DeploymentStatus.SUCCEEDED
            and self.watching_until is not None
            and self.watching_until > timezone.now()
        )

    def clean(self):
        if self.from_slot_id and self.from_slot_id == self.to_slot_id:
            raise ValidationError("A blue-green deployment goes to the other slot.")

    # --- Status (core.status.change_status) ---------------------------------------------------

    TRANSITIONS = TRANSITIONS
    transition_error = InvalidTransition

    def on_status_change(self, old, new):
        """A final status stamps finished_at; leaving the start for deploying stamps started_at once."""
        now = timezone.now()
        changed = []
        if new in FINAL:
            self.finished_at = now
            changed.append("finished_at")
        waiting = {DeploymentStatus.PENDING, DeploymentStatus.AWAITING_APPROVAL, DeploymentStatus.AWAITING_CHECKLIST}
        if old in waiting and new == DeploymentStatus.DEPLOYING:
            if self.started_at is None:
                self.started_at = now
                changed.append("started_at")
        return changed

    def record_status_change(self, *, old, new, actor, user, reason):
        labels = dict(DeploymentStatus.choices)
        DeploymentEvent.objects.create(
            deployment=self,
            at=timezone.now(),
            actor=actor or Actor.ENGINE,
            user=user,
            kind="transition",
            old_status=old,
            new_status=new,
            detail=reason or f"{labels.get(old, old)} → {labels.get(new, new)}",
        )


class DeploymentStep(models.Model):
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=32)
    order = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=8, choices=StepStatus.choices, default=StepStatus.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    output = models.TextField(blank=True)

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["deployment", "name"], name="deployment_step_unique_name")]

    def __str__(self):
        return f"{self.name}: {self.status}"


class DeploymentEvent(models.Model):
    """The deployment's timeline. Append-only: a correction is a new event."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=8, choices=Actor.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=16)  # transition, step, trigger, alert, checklist, note
    old_status = models.CharField(max_length=20, blank=True)
    new_status = models.CharField(max_length=20, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.at:%H:%M:%S} {self.kind} {self.detail[:60]}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise ValidationError("Timeline events are never edited; add a new one.")
        super().save(*args, **kwargs)

    @property
    def actor_label(self):
        return self.user.get_username() if self.user_id else self.get_actor_display().lower()


class DeploymentChecklistItem(models.Model):
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="checklist")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT)
    checked_at = models.DateTimeField(null=True, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=8, choices=Actor.choices, blank=True)
    # An automated item says why it is not ticked (or what passed); a person's tick may say where they looked.
    note = models.CharField(max_length=500, blank=True)
    link = models.URLField("where I looked", max_length=500, blank=True)

    class Meta:
        ordering = ["item__phase", "item__order"]
        constraints = [models.UniqueConstraint(fields=["deployment", "item"], name="checklist_item_once")]

    def __str__(self):
        return f"{'☑' if self.checked_at else '☐'} {self.item}"

    @property
    def checked(self):
        return self.checked_at is not None


class MetricSample(models.Model):
    """Load-balancer counters for one slot at one instant; rates come from deltas between samples."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="samples")
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="+")
    taken_at = models.DateTimeField()
    req_tot = models.BigIntegerField()
    hrsp_5xx = models.BigIntegerField()
    weight = models.PositiveSmallIntegerField(null=True, blank=True)
    server_status = models.CharField(max_length=16, blank=True)
    check_status = models.CharField(max_length=16, blank=True)
    p95_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["taken_at"]
        indexes = [models.Index(fields=["deployment", "slot", "taken_at"], name="metric_sample_window")]

    def __str__(self):
        return f"{self.slot} at {self.taken_at:%H:%M:%S}: {self.req_tot} requests, {self.hrsp_5xx} 5xx"


class MetricSampleHourly(models.Model):
    """An hour of a slot's load-balancer samples during a deployment, kept after the raw samples are pruned.

    Requests and 5xx are the counters' increase over the hour (deltas between consecutive samples, across
    reloads, as window_rate counts them), so an error rate is errors / requests; p95 is the hour's worst and mean.
    """

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="sample_hours")
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField(help_text="The start of the hour (UTC).")
    samples = models.PositiveIntegerField()
    requests = models.BigIntegerField(help_text="Requests counted from this hour's samples to the next one.")
    errors = models.BigIntegerField(help_text="5xx responses over the same spans.")
    p95_max = models.FloatField(null=True, blank=True)
    p95_avg = models.FloatField(null=True, blank=True)
    last_weight = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The weight of the hour's last sample."
    )

    class Meta:
        ordering = ["-hour", "-id"]
        verbose_name = "metric sample hour"
        constraints = [models.UniqueConstraint(fields=["deployment", "slot", "hour"], name="metric_sample_hour_once")]
        indexes = [models.Index(fields=["-hour", "-id"], name="metric_sample_hour_newest")]

    def __str__(self):
        return f"{self.slot} {self.hour:%Y-%m-%d %H:00}: {self.requests} requests, {self.errors} 5xx"

    @property
    def error_rate(self):
        return 100.0 * self.errors / self.requests if self.requests else None


class ReleaseCommit(models.Model):
    """A commit a release carries, as the git hook's push event described it; lead time starts at `committed_at`."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="commits")
    sha = models.CharField(max_length=40, validators=[RegexValidator(r"^[0-9a-f]{7,40}$", "A git commit SHA.")])
    committed_at = models.DateTimeField()
    author = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["committed_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["release", "sha"], name="release_commit_once")]

    def __str__(self):
        return f"{self.sha[:7]} {self.message[:60]}"


# The post-deployment checklist's models (journeys, runs, readings, notifications) live in their own module.
from deployments.postdeploy.models import (  # noqa: E402, F401
    JourneyRun,
    JourneyStep,
    PerformanceReading,
    ReleaseNotification,
    SyntheticJourney,
)
