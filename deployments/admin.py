import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from core.admin_readonly import ReadOnlyAdminMixin
from core.confirm import Confirmation, confirm, refused
from core.paginators import EstimatedCountPaginator
from deployments.choices import ACTIVE, Actor, ChecklistPhase, DeploymentStatus, SlotRole, StepStatus
from deployments.exceptions import DeploymentRefused
from deployments.models import (
    ChecklistItem,
    Deployment,
    DeploymentPolicy,
    DeploymentStep,
    MetricSampleHourly,
    Release,
    RollbackTrigger,
    Slot,
    SmokeCheck,
    TrafficStep,
)
from deployments.postdeploy import admin as postdeploy_admin
from environments.public import Environment
from incidents.public import Incident

# Services, engines and pages are imported in the functions that use them: start-up stays light (issue 19).

_TONE = {
    "succeeded": "ops-ok",
    "rolled_back": "ops-bad",  # a rollback is red: the release did not make it
    "rolling_back": "ops-bad",
    "paused": "ops-warn",
    "awaiting_checklist": "ops-warn",
    "awaiting_approval": "ops-warn",
    "failed": "ops-bad",
    "aborted": "ops-bad",
}


class TrafficStepInline(admin.TabularInline):
    model = TrafficStep
    extra = 0


class RollbackTriggerInline(admin.TabularInline):
    model = RollbackTrigger
    extra = 0
    fields = ["kind", "threshold", "window_seconds", "action", "promql", "enabled"]


class SmokeCheckInline(admin.TabularInline):
    model = SmokeCheck
    extra = 0


FOUR_EYES_FIELDS = ["four_eyes", "four_eyes_changed_by_id", "four_eyes_changed_at", "four_eyes_reason"]


class FourEyesForm(forms.Form):
    four_eyes = forms.BooleanField(required=False, label="Four-eyes on")
    reason = forms.CharField(max_length=200, help_text="Kept with the switch, e.g. 'team of one until March'.")


@admin.register(DeploymentPolicy)
class DeploymentPolicyAdmin(SimpleHistoryAdmin):
    list_display = ["environment", "strategy", "source", "auto_deploy", "checklist_required", "four_eyes", "balancer"]
    inlines = [TrafficStepInline, RollbackTriggerInline, SmokeCheckInline]
    # Four-eyes changes only through its own page (a service call with a reason), never with the rest of the form.
    readonly_fields = ["four_eyes_switch"]
    # The webhook and Prometheus URLs: a bare host means https (Django 6's default, said now, no warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "environment",
                    "strategy",
                    "ref_kind",
                    "ref_pattern",
                    "auto_deploy",
                    "checklist_required",
                    "four_eyes_switch",
                ]
            },
        ),
        ("Load balancer", {"fields": ["balancer", "balancer_socket", "balancer_backend"]}),
        ("Deploy executor", {"fields": ["executor", "deploy_command", "deploy_webhook_url", "deploy_timeout_seconds"]}),
        (
            "Checks and timings",
            {
                "fields": [
                    "health_path",
                    "health_interval_seconds",
                    "health_passes_required",
                    "sample_interval_seconds",
                    "min_requests",
                    "prometheus_url",
                    "stale_after_seconds",
                    "bake_minutes",
                ]
            },
        ),
    ]

    @admin.display(description="Source rule")
    def source(self, obj):
        return obj.source_rule()

    def save_model(self, request, obj, form, change):
        # The form never carries four-eyes, but a history revert rebuilds the whole row: keep the switch as it is.
        if change:
            current = DeploymentPolicy.objects.filter(pk=obj.pk).values(*FOUR_EYES_FIELDS).first() or {}
            for name, value in current.items():
                setattr(obj, name, value)
        else:
            obj.four_eyes = obj.environment.is_production
        super().save_model(request, obj, form, change)

    @admin.display(description="Four-eyes")
    def four_eyes_switch(self, obj):
        if obj is None or obj.pk is None:
            return "Set after the policy is saved."
        return format_html(
            '<span id="four-eyes-state">{}</span> <a href="{}" id="four-eyes-switch">Change…</a>',
            four_eyes_text(obj),
            reverse("admin:deployments_deploymentpolicy_four_eyes", args=[obj.pk]),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/four-eyes/", view(self.four_eyes_view), name="deployments_deploymentpolicy_four_eyes"),
        ] + super().get_urls()

    def four_eyes_view(self, request, pk):
        from deployments import services

        policy = get_object_or_404(DeploymentPolicy.objects.select_related("environment"), pk=pk)
        if not self.has_change_permission(request, policy):
            raise PermissionDenied
        form = FourEyesForm(request.POST or None, initial={"four_eyes": policy.four_eyes})
        if request.method == "POST" and form.is_valid():
            try:
                services.set_four_eyes(
                    policy_id=policy.pk,
                    enabled=form.cleaned_data["four_eyes"],
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except DeploymentRefused as exc:
                form.add_error(None, str(exc))
            else:
                policy.refresh_from_db()
                self.message_user(request, f"{policy.environment}: {four_eyes_text(policy)}", messages.SUCCESS)
                return redirect(reverse("admin:deployments_deploymentpolicy_change", args=[policy.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Four-eyes: {policy.environment}",
            "policy": policy,
            "state": four_eyes_text(policy),
            "form": form,
        }
        return TemplateResponse(request, "admin/deployments/deploymentpolicy/four_eyes.html", context)


def four_eyes_text(policy):
    """'On' or 'Off', with who switched it, when and why once someone has."""
    state = "On" if policy.four_eyes else "Off"
    if policy.four_eyes_changed_at is None:
        return f"{state} (as seeded)"
    who = policy.four_eyes_changed_by or "a deleted user"
    return f"{state} since {policy.four_eyes_changed_at:%Y-%m-%d %H:%M} UTC, by {who}: {policy.four_eyes_reason}"


@admin.register(Slot)
class SlotAdmin(SimpleHistoryAdmin):
    list_display = ["environment", "color", "address", "server_name", "role", "release", "mark_live_link"]
    list_filter = ["environment", "role"]
    list_select_related = ["environment", "release"]
    readonly_fields = ["role", "release", "mark_live_link"]  # moved by the engine only (once by a person, at setup)

    def get_changelist_instance(self, request):
        # Which environments have no live slot: one query for the page.
        changelist = super().get_changelist_instance(request)
        with_live = set(Slot.objects.filter(role=SlotRole.LIVE).values_list("environment_id", flat=True))
        for slot in changelist.result_list:
            slot.environment_has_live = slot.environment_id in with_live
        return changelist

    @admin.display(description="Live slot")
    def mark_live_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        has_live = getattr(obj, "environment_has_live", None)
        if has_live is None:
            has_live = Slot.objects.filter(environment_id=obj.environment_id, role=SlotRole.LIVE).exists()
        if has_live:
            return "live" if obj.role == SlotRole.LIVE else "—"
        return format_html(
            '<a href="{}" class="button" data-mark-live="{}">Mark live…</a>',
            reverse("admin:deployments_slot_mark_live", args=[obj.pk]),
            obj.color,
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("<int:pk>/mark-live/", view(self.mark_live_view), name="deployments_slot_mark_live")] + (
            super().get_urls()
        )

    def mark_live_view(self, request, pk):
        """No slot is live (slots are added idle): a person names the one serving traffic, once, with a reason."""
        from deployments import services

        slot = get_object_or_404(Slot.objects.select_related("environment", "release"), pk=pk)
        if not request.user.has_perm(services.MARK_LIVE_PERMISSION):
            raise PermissionDenied
        back = reverse("admin:deployments_slot_changelist")

        def perform(reason):
            try:
                services.mark_live_slot(slot_id=slot.pk, user=request.user, reason=reason)
            except DeploymentRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{slot.environment}: {slot.color} is the live slot.", messages.SUCCESS)
            return redirect(back)

        confirmation = Confirmation(
            action=f"Mark {slot.color} live",
            effect=(
                f"{slot.environment} gets {slot.color} ({slot.address}, {slot.release or 'release unknown'}) as its "
                "live slot: the next deployment goes to the other slot and moves traffic away from this one. "
                "Only a slot that already serves the environment's traffic should be marked; after this, only "
                "deployments move the live role."
            ),
            environment=slot.environment.name,
            production=slot.environment.is_production,
            cancel_url=back,
        )
        return confirm(request, confirmation, perform, admin_site=self.admin_site)

    def set_history_delta_changes(self, request, historical_records, **kwargs):
        # The history page names each record after its slot, i.e. its environment: one query for the page.
        records = list(historical_records)
        environments = Environment.objects.in_bulk({r.environment_id for r in records})
        for record in records:
            slot = record.history_object
            if record.environment_id in environments:
                slot.environment = environments[record.environment_id]
            record.history_object = slot
        super().set_history_delta_changes(request, records, **kwargs)


@admin.register(ChecklistItem)
class ChecklistItemAdmin(admin.ModelAdmin):
    list_display = ["text", "phase", "order", "ci_settable"]
    list_filter = ["phase"]


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["version", "ref", "ref_kind", "commit", "source", "created_by", "created_at"]
    list_filter = ["ref_kind", "source"]
    search_fields = ["version", "ref", "commit"]
    readonly_fields = ["source", "created_by", "created_at"]
    list_select_related = ["created_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by, obj.source = request.user, Actor.PERSON
        super().save_model(request, obj, form, change)


RELEASE_OPTIONS = 20


class StartDeploymentForm(forms.Form):
    # The environment first: its source rule decides which releases are offered. The release is typed and
    # searched (there are thousands), by version; anything the rule allows is accepted, not only what was offered.
    environment = forms.ModelChoiceField(queryset=Environment.objects.filter(deployment_policy__isnull=False))
    release = forms.ModelChoiceField(
        queryset=Release.objects.all(),
        to_field_name="version",
        widget=forms.TextInput(
            attrs={"list": "release-options", "autocomplete": "off", "placeholder": "Type to search releases…"}
        ),
        error_messages={"invalid_choice": "No release with that version."},
    )
    release_note = forms.CharField(
        label="Public release note",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional. Published on the public status page (/status/) when the deployment succeeds.",
    )

    def clean(self):
        data = super().clean()
        environment, release = data.get("environment"), data.get("release")
        if environment and release:
            refusal = environment.deployment_policy.refusal_for(release)
            if refusal:
                self.add_error("release", refusal)
        return data


def _switch_back_context(request, deployment):
    """For _switch_back.html: the button only when the switch back is allowed for this person now."""
    from deployments import services

    if deployment.status == DeploymentStatus.ROLLED_BACK:
        incident = Incident.objects.filter(deployment=deployment).only("pk", "title").first()
        return {"can_switch_back": False, "incident": incident}
    if deployment.status != DeploymentStatus.SUCCEEDED or not deployment.to_slot_id:
        return {"can_switch_back": False}
    return {
        "can_switch_back": not services.switch_back_refusal(deployment, request.user),
        "watching": deployment.is_watching,
    }


def glob_regex(pattern):
    """A source rule's glob (release/*, v*) as an anchored PostgreSQL regular expression."""
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return "^" + "".join(parts) + "$"


def allowed_releases(policy, query="", *, limit=RELEASE_OPTIONS):
    """Newest releases `policy`'s source rule allows, whose version or ref contains `query`."""
    releases = Release.objects.filter(ref_kind=policy.ref_kind, ref__regex=glob_regex(policy.ref_pattern))
    query = query.strip()
    if query:
        releases = releases.filter(Q(version__icontains=query) | Q(ref__icontains=query))
    found = releases.order_by("-created_at", "-pk")[:limit]
    return [r for r in found if not policy.refusal_for(r)]  # the glob's own rule has the last word


def start_preview(environment):
    """What a start into `environment` would do: its rule, what is live now, the steps to come."""
    from deployments import progress, services

    policy = environment.deployment_policy
    slots = list(Slot.objects.filter(environment=environment).select_related("release"))
    live = [s for s in slots if s.role == SlotRole.LIVE]
    if not policy.is_blue_green:
        now = "direct deployment (no slots)"
    elif len(live) == 1:
        now = f"{live[0].color} is live on {live[0].release or 'an unknown release'}"
    else:
        now = f"{len(live)} live slots: a blue-green deployment needs exactly one"
    holds = {f"traffic_{t.weight}": f"{t.weight}% for {progress.human_duration(t.hold_seconds)}"
             for t in policy.traffic_steps.all()}  # fmt: skip
    steps = [holds.get(name, name.replace("_", " ")) for name in services._steps_for(policy)]
    notes = []
    if policy.four_eyes:
        notes.append("Four-eyes: a second person approves before anything moves.")
    if policy.checklist_required:
        notes.append("The pre-deployment checklist must be ticked before the engine starts.")
    return {
        "environment": environment.name,
        "rule": policy.source_rule(),
        "live": now,
        "needs_live_slot": policy.is_blue_green and len(live) != 1,
        "slots_url": reverse("admin:deployments_slot_changelist") + f"?environment__id__exact={environment.pk}",
        "steps": steps,
        "notes": notes,
    }


# Moves traffic or stops a deployment: asked with a reason (core.confirm), which the timeline and audit keep.
CONFIRMED = {"rollback": "Roll back now", "abort": "Abort", "continue": "Continue", "confirm": "Weights are set"}
CONFIRMED_ACTIONS = {"rollback", "abort", "continue"}


def confirmation_for(deployment, action, *, cancel_url=""):
    """What the confirmation page says will happen, and where."""
    environment = deployment.environment
    new, old = deployment.to_slot, deployment.from_slot
    if action == "rollback":
        effect = (
            f"All traffic goes back to {old.color} ({old.release or 'its release'}) at once; {new.color}, "
            f"now carrying {deployment.traffic_weight}% with {deployment.release}, is drained."
        )
    elif action == "abort":
        effect = f"Deployment #{deployment.pk} of {deployment.release} stops: its remaining steps are skipped"
        effect += f" and {new.color} goes back to idle." if new else "."
        effect += " No traffic moves."
    else:
        resume = deployment.get_paused_from_display() or "shifting traffic"
        effect = f"Deployment #{deployment.pk} of {deployment.release} resumes at {resume.lower()}"
        if new:
            effect += f": traffic on {new.color} ({deployment.traffic_weight}% now) goes on to the next step."
        else:
            effect += "."
    return Confirmation(
        action=CONFIRMED[action],
        effect=effect,
        environment=environment.name,
        production=environment.is_production,
        cancel_url=cancel_url,
    )


def switch_back_confirmation(deployment, *, refusal="", cancel_url=""):
    """What a switch back moves, from which slot and release to which; `refusal` when it can't be done now."""
    environment = deployment.environment
    new, old = deployment.to_slot, deployment.from_slot
    summary = ()
    if new and old:
        effect = (
            f"All traffic goes back to {old.color}, which still runs {old.release or 'no release'}, once 3 health "
            f"probes of it pass. {new.color} ({deployment.release}) keeps running with no traffic, for "
            "investigation. The deployment is recorded as rolled back, and an incident opens."
        )
        summary = (
            ("From", f"{new.color} · {deployment.release} ({deployment.traffic_weight}% of traffic now)"),
            ("To", f"{old.color} · {old.release or 'no release'}"),
        )
    else:
        effect = f"Deployment #{deployment.pk} of {deployment.release} has no standby slot to go back to."
    return Confirmation(
        action="Switch back now",
        effect=effect,
        environment=environment.name,
        production=environment.is_production,
        cancel_url=cancel_url,
        summary=summary,
        refusal=refusal,
    )


def _step_count(status=None):
    steps = DeploymentStep.objects.filter(deployment=OuterRef("pk"))
    if status:
        steps = steps.filter(status=status)
    counted = steps.order_by().values("deployment").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["id", "release", "environment", "status_badge", "progress_text", "traffic", "created_at"]
    list_filter = ["environment", "status"]
    list_select_related = ["release", "environment", "from_slot", "to_slot"]
    search_fields = ["release__version"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = [postdeploy_admin.run_post_deploy_checks]
    has_operate_permission = postdeploy_admin.has_operate_permission

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the timeline is the record of what happened to production

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("start/", view(self.start_view), name="deployments_deployment_start"),
            path("start/options/", view(self.start_options_view), name="deployments_deployment_start_options"),
            path("<int:pk>/live/", view(self.live_view), name="deployments_deployment_live"),
            path("<int:pk>/act/<str:action>/", view(self.act_view), name="deployments_deployment_act"),
            path("<int:pk>/check/<slug:key>/", view(self.check_view), name="deployments_deployment_check"),
            path("<int:pk>/switch-back/", view(self.switch_back_view), name="deployments_deployment_switch_back"),
            *postdeploy_admin.urls(self),
        ] + super().get_urls()

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        from deployments.engine.switchback import status_label  # the engine loads when a page needs it

        return format_html('<span class="{}">{}</span>', _TONE.get(obj.status, ""), status_label(obj))

    def get_queryset(self, request):
        # Progress in the list comes from annotations, not a query per row; subqueries, not a GROUP BY over
        # every deployment's steps, so only the page's rows are counted.
        return (
            super()
            .get_queryset(request)
            .annotate(
                steps_passed=_step_count(StepStatus.PASSED),
                steps_skipped=_step_count(StepStatus.SKIPPED),
                steps_failed=_step_count(StepStatus.FAILED),
                steps_total=_step_count(),
            )
        )

    @admin.display(description="Progress")
    def progress_text(self, obj):
        # Skipped is not done: an aborted deployment whose steps were all skipped is 0/6, in red.
        from deployments import progress

        state = progress.progress_state(
            obj.status, passed=obj.steps_passed, skipped=obj.steps_skipped, failed=obj.steps_failed,
            total=obj.steps_total,
        )  # fmt: skip
        return format_html('<span class="{}">{}</span>', state.tone, state.label)

    @admin.display(description="Traffic on new slot")
    def traffic(self, obj):
        return f"{obj.traffic_weight}%" if obj.to_slot_id else "—"

    # --- Pages -------------------------------------------------------------------------

    def _context(self, request, deployment):
        from deployments import progress, services
        from deployments.engine.switchback import status_label

        steps = list(deployment.steps.all())
        state = progress.progress(deployment, steps)
        policy = deployment.environment.deployment_policy
        checklist = list(deployment.checklist.select_related("item", "checked_by"))
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Deployment #{deployment.pk}: {deployment.release} → {deployment.environment}",
            "deployment": deployment,
            "progress": state,
            "split": progress.traffic_split(deployment),
            "chart": progress.svg_chart(deployment),
            "measured": progress.measured(policy),
            "policy": policy,
            "hold": progress.current_hold(deployment, policy),
            "total_duration": progress.total_duration(deployment),
            "steps": progress.step_rows(deployment, steps, policy=policy),
            "events": deployment.events.select_related("user"),
            "checklist": {phase.label: [c for c in checklist if c.item.phase == phase] for phase in ChecklistPhase},
            "live": progress.is_live(deployment),
            "signature": progress.state_signature(deployment),
            "can_operate": request.user.has_perm("deployments.operate_deployment"),
            "can_check": request.user.has_perm("deployments.check_checklist"),
            "can_approve": not services.approval_refusal(deployment, request.user),
            "is_requester": deployment.created_by_id == request.user.pk,
            "tone": _TONE.get(deployment.status, ""),
            "status_label": status_label(deployment),
            **_switch_back_context(request, deployment),
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        deployment = get_object_or_404(Deployment.objects.select_related(*self.list_select_related), pk=object_id)
        if not self.has_view_permission(request, deployment):
            raise PermissionDenied
        return TemplateResponse(request, "admin/deployments/deployment/detail.html", self._context(request, deployment))

    def live_view(self, request, pk):
        deployment = get_object_or_404(Deployment.objects.select_related(*self.list_select_related), pk=pk)
        if not self.has_view_permission(request, deployment):
            raise PermissionDenied
        return TemplateResponse(request, "admin/deployments/deployment/_live.html", self._context(request, deployment))

    def start_view(self, request):
        from deployments import services

        if not request.user.has_perm("deployments.operate_deployment"):
            raise PermissionDenied
        initial = {"release": request.GET.get("release"), "environment": request.GET.get("environment")}
        if (initial["release"] or "").isdigit():  # links name the release by id
            initial["release"] = Release.objects.filter(pk=initial["release"]).values_list("version", flat=True).first()
        form = StartDeploymentForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                deployment = services.start_deployment(
                    release=form.cleaned_data["release"],
                    environment=form.cleaned_data["environment"],
                    user=request.user,
                    release_note=form.cleaned_data["release_note"],
                )
            except DeploymentRefused as exc:
                form.add_error(None, str(exc))
            else:
                if deployment.status == DeploymentStatus.AWAITING_APPROVAL:
                    text = f"Deployment #{deployment.pk} awaits approval by a second person (four-eyes)."
                else:
                    text = f"Deployment #{deployment.pk} started."
                self.message_user(request, text, messages.SUCCESS)
                return redirect(reverse("admin:deployments_deployment_change", args=[deployment.pk]))
        chosen = form["environment"].value()
        environment = (
            Environment.objects.filter(pk=chosen, deployment_policy__isnull=False).first()
            if str(chosen or "").isdigit()
            else None
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Start a deployment",
            "form": form,
            "preview": start_preview(environment) if environment else None,
            "options_url": reverse("admin:deployments_deployment_start_options"),
            "active": Deployment.objects.filter(status__in=ACTIVE).select_related("release", "environment"),
            "four_eyes_off": [
                (p.environment, four_eyes_text(p))
                for p in DeploymentPolicy.objects.select_related("environment", "four_eyes_changed_by")
                if not p.four_eyes and p.environment.is_production
            ],
        }
        return TemplateResponse(request, "admin/deployments/deployment/start.html", context)

    def start_options_view(self, request):
        """The start form's search: releases the environment's rule allows matching ?q=, and its preview."""
        if not request.user.has_perm("deployments.operate_deployment"):
            raise PermissionDenied
        environment = Environment.objects.filter(
            pk=request.GET.get("environment") if str(request.GET.get("environment", "")).isdigit() else None,
            deployment_policy__isnull=False,
        ).first()
        if environment is None:
            return JsonResponse({"error": "Choose an environment first."}, status=400)
        releases = allowed_releases(environment.deployment_policy, request.GET.get("q", "")[:100])
        return JsonResponse(
            {
                "releases": [{"version": r.version, "ref": r.ref} for r in releases],
                "preview": start_preview(environment),
            }
        )

    def _act(self, request, fn):
        try:
            fn()
        except DeploymentRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return False
        return True

    def act_view(self, request, pk, action):
        from deployments import progress, services

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        needed = services.APPROVE_PERMISSION if action in {"approve", "reject"} else services.OPERATE_PERMISSION
        if not request.user.has_perm(needed):
            raise PermissionDenied
        note = request.POST.get("note", "")
        actions = {
            "approve": lambda reason: services.approve(deployment_id=pk, user=request.user, note=note),
            "reject": lambda reason: services.reject(deployment_id=pk, user=request.user, note=note),
            "continue": lambda reason: services.continue_deployment(deployment_id=pk, user=request.user, reason=reason),
            "rollback": lambda reason: services.roll_back_now(deployment_id=pk, user=request.user, reason=reason),
            "abort": lambda reason: services.abort(
                deployment_id=pk, user=request.user, reason=f"Aborted by {request.user}: {reason}"
            ),
            "confirm": lambda reason: services.confirm_weights(deployment_id=pk, user=request.user),
        }
        if action not in actions:
            raise PermissionDenied
        page = reverse("admin:deployments_deployment_change", args=[pk])

        def perform(reason=""):
            if self._act(request, lambda: actions[action](reason)):
                done = {"approve": "Approved", "reject": "Rejected: the deployment is aborted"}.get(action)
                text = done or f"{CONFIRMED[action]}: done; the engine takes it from here."
                # Tagged with the state it was said in: the page drops it once the deployment moved on.
                said_in = progress.state_signature(Deployment.objects.get(pk=pk))
                self.message_user(request, text, messages.SUCCESS, extra_tags=f"ops-state-{said_in}")
            return redirect(page)

        if action not in CONFIRMED_ACTIONS:
            return perform()
        deployment = get_object_or_404(Deployment.objects.select_related(*self.list_select_related), pk=pk)
        confirmation = confirmation_for(deployment, action, cancel_url=page)
        return confirm(request, confirmation, perform, admin_site=self.admin_site)

    def switch_back_view(self, request, pk):
        """core.confirm's page with what moves; the service checks again and queues, the engine moves traffic."""
        from deployments import services

        if not request.user.has_perm(services.OPERATE_PERMISSION):
            raise PermissionDenied
        deployment = get_object_or_404(Deployment.objects.select_related(*self.list_select_related), pk=pk)
        page = reverse("admin:deployments_deployment_change", args=[pk])
        confirmation = switch_back_confirmation(
            deployment, refusal=services.switch_back_refusal(deployment, request.user), cancel_url=page
        )

        def perform(reason):
            try:
                services.switch_back(deployment_id=pk, user=request.user, reason=reason)
            except DeploymentRefused as exc:
                return refused(request, confirmation, str(exc), admin_site=self.admin_site)
            old = deployment.from_slot
            self.message_user(request, f"Switch back requested: all traffic goes back to {old.color} ({old.release}) "
                              "once its health probes pass.", messages.SUCCESS)  # fmt: skip
            return redirect(page)

        return confirm(request, confirmation, perform, admin_site=self.admin_site)

    def check_view(self, request, pk, key):
        from deployments import services

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("deployments.check_checklist"):
            raise PermissionDenied
        if self._act(request, lambda: services.check_item(deployment_id=pk, item_key=key, user=request.user)):
            self.message_user(request, "Checked.", messages.SUCCESS)
        return redirect(reverse("admin:deployments_deployment_change", args=[pk]))


@admin.register(MetricSampleHourly)
class MetricSampleHourlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """13 months of a deployment's load-balancer figures, hour by hour, after the raw samples are pruned."""

    list_display = ["hour", "deployment", "slot", "samples", "requests", "errors", "error_rate_shown", "p95_max",
                    "p95_avg", "last_weight"]  # fmt: skip
    list_filter = ["deployment__environment", "slot__color"]
    list_select_related = ["deployment__release", "deployment__environment", "slot__environment"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    @admin.display(description="5xx %")
    def error_rate_shown(self, obj):
        rate = obj.error_rate
        return "—" if rate is None else f"{rate:.2f}"
