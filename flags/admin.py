"""The flags admin: the strategy's table as a list, one-click flips, audit with revert, guarded production.

Every change goes through services, so the admin, the API, imports and scheduled changes share one set of rules.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, JSON, YAML
from simple_history.admin import SimpleHistoryAdmin

from core.confirm import Confirmation, confirm
from core.imports import ImportPermissionMixin
from environments.public import Environment
from flags.choices import (
    CHANGE_PERMISSION,
    IMPORT_PERMISSIONS,
    PRODUCTION_PERMISSION,
    ChangeRequestStatus,
    ScheduledChangeStatus,
)
from flags.exceptions import FlagError
from flags.models import ChangeRequest, Flag, FlagState, ScheduledChange
from flags.resources import FlagMatrixResource

# Services, engines and pages are imported in the functions that use them: start-up stays light (issue 19).


class EnvironmentActionForm(ActionForm):
    environment = forms.ModelChoiceField(
        Environment.objects.order_by("order"), required=False, empty_label="environment…"
    )


def _back(request, fallback):
    target = request.POST.get("next") or request.META.get("HTTP_REFERER")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)


def _report(modeladmin, request, outcomes):
    for outcome in outcomes:
        level = messages.WARNING if outcome.change_request else messages.SUCCESS
        if outcome.applied or outcome.change_request:
            modeladmin.message_user(request, outcome.message, level)
    if not any(o.applied or o.change_request for o in outcomes):
        modeladmin.message_user(request, "Nothing to change: every selected flag already had that value.")


class FlagValuesPermission:
    """Actions that change flag values are offered to whoever the flags service lets change them."""

    def has_flag_values_permission(self, request):
        return request.user.has_perm(CHANGE_PERMISSION)


@admin.register(Flag)
class FlagAdmin(FlagValuesPermission, ImportPermissionMixin, ImportExportMixin, SimpleHistoryAdmin):
    list_display = ["key", "category", "kind", "owner"]
    list_filter = ["category", "kind"]
    search_fields = ["key", "description", "owner"]
    ordering = ["category", "key"]
    list_per_page = 100
    action_form = EnvironmentActionForm
    actions = ["enable_in_environment", "disable_in_environment"]
    readonly_fields = ["values", "audit"]
    fields = ["key", "category", "description", "owner", "kind", "values", "audit"]
    resource_classes = [FlagMatrixResource]
    import_permissions = IMPORT_PERMISSIONS
    formats = [CSV, JSON, YAML]
    change_list_template = "admin/flags/flag/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("states")

    def get_readonly_fields(self, request, obj=None):
        # The key is what the storefront reads; renaming it would silently turn the flag off there.
        fields = _with_values_for(request, self.readonly_fields)
        return [*fields, "key"] if obj else fields

    def get_fields(self, request, obj=None):
        return _with_values_for(request, self.fields)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        from flags import services

        super().save_model(request, obj, form, change)
        if not change:
            services.create_missing_states(flag_id=obj.pk, actor=request.user)

    def delete_view(self, request, object_id, extra_context=None):
        """Deleting goes through the service, with a reason: a flag production serves waits for a second person."""
        from flags import services

        flag = get_object_or_404(Flag, pk=object_id)
        if not self.has_delete_permission(request, flag):
            raise PermissionDenied
        state = services.production_state(flag)
        page = reverse("admin:flags_flag_change", args=[flag.pk])

        def perform(reason):
            try:
                outcome = services.delete_flag(flag_id=flag.pk, actor=request.user, reason=reason)
            except FlagError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return HttpResponseRedirect(page)
            if outcome.change_request is not None:
                self.message_user(
                    request,
                    f"Deleting {flag.key} → change request #{outcome.change_request.pk} awaits another user's "
                    "approval; the flag stays until then.",
                    messages.WARNING,
                )
                return HttpResponseRedirect(reverse("admin:flags_changerequest_change",
                                                    args=[outcome.change_request.pk]))  # fmt: skip
            self.message_user(request, f"{flag.key} deleted.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:flags_flag_changelist"))

        if state is not None:
            effect = (
                f"{flag.key} is served in production (now {'on' if state.enabled else 'off'}): deleting it removes "
                "it from every environment, and the storefront falls back to its default. As with changing it, a "
                "change request is filed; the flag goes only when a second person approves."
            )
            action = f"Request deletion of {flag.key}"
        else:
            effect = f"{flag.key} is removed from every environment, with its history kept in the audit."
            action = f"Delete {flag.key}"
        confirmation = Confirmation(action=action, effect=effect, environment="Production" if state else "All",
                                    production=state is not None, cancel_url=page)  # fmt: skip
        return confirm(request, confirmation, perform, admin_site=self.admin_site)

    # --- the table: one column per environment, each cell a one-click flip ---

    def get_list_display(self, request):
        from flags import services

        environments = list(Environment.objects.order_by("order"))
        token = get_token(request)
        # Cells with a change request waiting for a second person carry a marker linking to it.
        pending = dict(ChangeRequest.objects.filter(status=ChangeRequestStatus.PENDING).values_list("state_id", "pk"))
        columns = [self._column(env, token, services.may_change(request.user, env), pending) for env in environments]
        return ["key", "category", *columns, "kind", "owner"]

    def _column(self, env, csrf, may_flip, pending=None):
        pending = pending or {}

        def cell(flag):
            state = next((s for s in flag.states.all() if s.environment_id == env.pk), None)
            if state is None:
                return "—"
            # Who may not change this environment sees its values, with nothing to click.
            value = _toggle_button(state, env, csrf, flag.key) if may_flip else _flag_value(state, env, flag.key)
            if state.pk in pending:
                url = reverse("admin:flags_changerequest_change", args=[pending[state.pk]])
                marker = format_html(
                    ' <a class="ops-flag-pending" href="{}" title="A change request waits for approval" '
                    'data-pending="{}">⏳ pending</a>',
                    url, flag.key,
                )  # fmt: skip
                return format_html("{}{}", value, marker)
            return value

        cell.short_description = env.name
        cell.__name__ = f"env_{env.key}"
        return cell

    # The change form's values: buttons where the viewer of the page may flip, plain values elsewhere.
    @admin.display(description="Values")
    def values(self, obj):
        return _values(obj, lambda env: True)

    @admin.display(description="Values")
    def values_outside_production(self, obj):
        return _values(obj, lambda env: not env.is_production)

    @admin.display(description="Values")
    def values_read_only(self, obj):
        return _values(obj, lambda env: False)

    @admin.display(description="Audit history")
    def audit(self, obj):
        from flags import services

        if not obj or not obj.pk:
            return "—"
        from django.template.loader import render_to_string

        return render_to_string("admin/flags/audit.html", {"rows": services.audit_rows(obj)})

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("toggle/<int:state_id>/", wrap(self.toggle_view), name="flags_flag_toggle"),
            path("revert/<int:history_id>/", wrap(self.revert_view), name="flags_flag_revert"),
            path("copy-environment/", wrap(self.copy_view), name="flags_flag_copy"),
            path("drift/", wrap(self.drift_view), name="flags_flag_drift"),
            path("stale/", wrap(self.stale_view), name="flags_flag_stale"),
            *super().get_urls(),
        ]

    def _require_post(self, request):
        if request.method != "POST":
            raise PermissionDenied

    def toggle_view(self, request, state_id):
        from flags import services

        self._require_post(request)
        state = get_object_or_404(FlagState.objects.select_related("environment"), pk=state_id)
        if not services.may_change(request.user, state.environment):
            raise PermissionDenied
        reason = request.POST.get("reason", "").strip() or "Flipped in the admin"
        try:
            outcome = services.set_state(
                state_id=state.pk, enabled=not state.enabled, actor=request.user, reason=reason
            )
        except FlagError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            _report(self, request, [outcome])
        return _back(request, reverse("admin:flags_flag_changelist"))

    def revert_view(self, request, history_id):
        from flags import services

        self._require_post(request)
        try:
            outcome = services.revert(history_id=history_id, actor=request.user)
        except FlagError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            _report(self, request, [outcome])
        return _back(request, reverse("admin:flags_flag_changelist"))

    def copy_view(self, request):
        from flags import services

        form = CopyEnvironmentForm(request.POST or None)
        diff = None
        if request.method == "POST" and form.is_valid():
            source, target = form.cleaned_data["source"], form.cleaned_data["target"]
            try:
                diff = services.environment_diff(source_id=source.pk, target_id=target.pk)
                if "confirm" in request.POST:
                    outcomes = services.copy_environment(
                        source_id=source.pk, target_id=target.pk, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                    _report(self, request, outcomes)
                    return HttpResponseRedirect(reverse("admin:flags_flag_changelist"))
            except FlagError as exc:
                form.add_error(None, str(exc))
                diff = None
        context = {**self.admin_site.each_context(request), "title": "Copy environment", "form": form,
                   "diff": diff, "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/flags/copy_environment.html", context)

    def drift_view(self, request):
        from flags import services

        context = {**self.admin_site.each_context(request), "title": "Drift report",
                   "report": services.drift_report(), "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/flags/drift.html", context)

    def stale_view(self, request):
        from flags import conf, services

        context = {**self.admin_site.each_context(request), "title": "Stale flags", "days": conf.stale_days(),
                   "flags": services.stale_flags(), "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/flags/stale.html", context)

    # --- bulk actions ---

    def _bulk(self, request, queryset, enabled):
        from flags import services

        env_id = request.POST.get("environment")
        if not env_id:
            self.message_user(request, "Choose the environment to change first.", messages.ERROR)
            return
        word = "Enabled" if enabled else "Disabled"
        try:
            outcomes = services.set_many(
                flag_ids=list(queryset.values_list("pk", flat=True)),
                environment_id=int(env_id),
                enabled=enabled,
                actor=request.user,
                reason=f"{word} in bulk from the admin",
            )
        except FlagError as exc:
            self.message_user(request, f"Nothing changed: {exc}", messages.ERROR)
            return
        _report(self, request, outcomes)

    @admin.action(description="Enable in the chosen environment", permissions=["flag_values"])
    def enable_in_environment(self, request, queryset):
        self._bulk(request, queryset, True)

    @admin.action(description="Disable in the chosen environment", permissions=["flag_values"])
    def disable_in_environment(self, request, queryset):
        self._bulk(request, queryset, False)


def _with_values_for(request, fields):
    """`fields` with "values" swapped for the variant that offers only the flips the user may make."""
    user = request.user
    if not user.has_perm(CHANGE_PERMISSION):
        variant = "values_read_only"
    elif not user.has_perm(PRODUCTION_PERMISSION):
        variant = "values_outside_production"
    else:
        variant = "values"
    return [variant if f == "values" else f for f in fields]


def _values(flag, may_flip):
    if not flag or not flag.pk:
        return "Set after saving."
    states = flag.states.select_related("environment").order_by("environment__order")
    cells = (
        (s.environment.name,
         _toggle_button(s, s.environment, None, flag.key, in_form=True) if may_flip(s.environment)
         else _flag_value(s, s.environment, flag.key))
        for s in states
    )  # fmt: skip
    return format_html_join(" ", '<span class="ops-flag-cell">{}: {}</span>', cells)


def _flag_value(state, env, flag_key):
    return format_html(
        '<span class="ops-flag-value {}" data-flag="{}" data-environment="{}">{}</span>',
        "ops-ok" if state.enabled else "ops-bad", flag_key, env.key, "on" if state.enabled else "off",
    )  # fmt: skip


def _toggle_button(state, env, csrf, flag_key, *, in_form=False):
    label = "on" if state.enabled else "off"
    url = reverse("admin:flags_flag_toggle", args=[state.pk])
    confirm = ""
    if env.is_production:
        confirm = f"return confirm('Turn {flag_key} {'off' if state.enabled else 'on'} in production?')"
    tone = "ops-ok" if state.enabled else "ops-bad"
    if in_form:
        # Inside the change form: a button that submits to the toggle URL (forms cannot nest).
        return format_html(
            '<button type="submit" class="ops-flag {}" formaction="{}" formmethod="post" onclick="{}" '
            'data-flag="{}" data-environment="{}">{}</button>',
            tone, url, confirm, flag_key, env.key, label,
        )  # fmt: skip
    # The matrix's "Reason for flips" box (change_list.html) travels with every flip; empty: the default reason.
    carry = "var r=document.getElementById('flip-reason');if(r){this.reason.value=r.value;}"
    return format_html(
        '<form method="post" action="{}" class="ops-flag-form" onsubmit="{}{}">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}"><input type="hidden" name="reason" value="">'
        '<button type="submit" class="ops-flag {}" data-flag="{}" data-environment="{}">{}</button></form>',
        url, carry, confirm, csrf, tone, flag_key, env.key, label,
    )  # fmt: skip


class CopyEnvironmentForm(forms.Form):
    source = forms.ModelChoiceField(Environment.objects.order_by("order"), label="Copy from")
    target = forms.ModelChoiceField(Environment.objects.order_by("order"), label="Onto")
    reason = forms.CharField(max_length=100, required=False, help_text="Kept in the audit history.")


@admin.register(ChangeRequest)
class ChangeRequestAdmin(FlagValuesPermission, SimpleHistoryAdmin):
    list_display = ["id", "flag", "environment", "kind", "requested_value", "status", "requested_by",
                    "requested_at", "decided_by", "reason"]  # fmt: skip
    list_filter = ["status"]
    list_select_related = ["state__flag", "state__environment", "requested_by", "decided_by"]
    search_fields = ["state__flag__key", "reason"]
    actions = ["approve", "reject", "cancel"]
    readonly_fields = [f.name for f in ChangeRequest._meta.fields]
    change_form_template = "admin/flags/changerequest/change_form.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/decide/<str:verb>/", wrap(self.decide_view), name="flags_changerequest_decide"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):

        change_request = ChangeRequest.objects.filter(pk=object_id).first()
        extra = {**(extra_context or {})}
        if change_request is not None:
            extra["title"] = f"Change request #{change_request.pk}"
            extra["pending"] = change_request.status == ChangeRequestStatus.PENDING
            extra["may_decide"] = self.has_flag_values_permission(request)
            extra["own_request"] = change_request.requested_by_id == request.user.pk
        return super().change_view(request, object_id, form_url, extra)

    # The services function of each verb, by name: services load on first use, not at start-up.
    _DECISIONS = {"approve": ("approve", "approved and applied"), "reject": ("reject", "rejected"),
                  "cancel": ("cancel", "cancelled")}  # fmt: skip

    def decide_view(self, request, pk, verb):
        """Approve, reject or cancel one request from its page: the same services as the list's actions."""
        if request.method != "POST" or verb not in self._DECISIONS:
            raise PermissionDenied
        if not self.has_flag_values_permission(request):
            raise PermissionDenied(CHANGE_PERMISSION)
        from flags import services

        name, done = self._DECISIONS[verb]
        try:
            getattr(services, name)(change_request_id=pk, actor=request.user)
        except FlagError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"Change request #{pk} {done}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:flags_changerequest_change", args=[pk]))

    def has_add_permission(self, request):
        return False  # filed by set_state, never by hand

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Flag", ordering="state__flag__key")
    def flag(self, obj):
        return obj.state.flag.key if obj.state_id else f"{obj.flag_key} (deleted)"

    @admin.display(description="Environment")
    def environment(self, obj):
        return obj.state.environment.name if obj.state_id else "—"

    @admin.display(description="Value", boolean=True)
    def requested_value(self, obj):
        return obj.enabled

    def _each(self, request, queryset, fn, verb):
        for request_ in queryset:
            try:
                fn(change_request_id=request_.pk, actor=request.user)
            except FlagError as exc:
                self.message_user(request, f"#{request_.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"#{request_.pk} {verb}.", messages.SUCCESS)

    @admin.action(description="Approve and apply", permissions=["flag_values"])
    def approve(self, request, queryset):
        from flags import services

        self._each(request, queryset, services.approve, "approved and applied")

    @admin.action(description="Reject", permissions=["flag_values"])
    def reject(self, request, queryset):
        from flags import services

        self._each(request, queryset, services.reject, "rejected")

    @admin.action(description="Cancel my request", permissions=["flag_values"])
    def cancel(self, request, queryset):
        from flags import services

        self._each(request, queryset, services.cancel, "cancelled")


class ScheduledChangeForm(forms.ModelForm):
    actor = None  # set by the admin: the rules depend on who schedules

    class Meta:
        model = ScheduledChange
        fields = ["state", "enabled", "run_at", "reason"]
        labels = {"state": "Flag in environment", "enabled": "Set to on", "run_at": "At"}

    def clean(self):
        from flags import services

        cleaned = super().clean()
        state = cleaned.get("state")
        if state is not None and self.actor is not None:
            try:
                services.check_can_change(actor=self.actor, state_id=state.pk)
            except FlagError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return cleaned


@admin.register(ScheduledChange)
class ScheduledChangeAdmin(FlagValuesPermission, SimpleHistoryAdmin):
    form = ScheduledChangeForm
    list_display = ["state", "enabled", "run_at", "status", "created_by", "outcome"]
    list_filter = ["status"]
    list_select_related = ["state__flag", "state__environment", "created_by"]
    actions = ["cancel"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user
        if "state" in form.base_fields:
            form.base_fields["state"].queryset = FlagState.objects.select_related("flag", "environment")
        return form

    def get_readonly_fields(self, request, obj=None):
        if obj:
            return ["state", "enabled", "run_at", "reason", "status", "created_by", "applied_at", "outcome",
                    "change_request"]  # fmt: skip
        return []

    def save_model(self, request, obj, form, change):
        from flags import services

        if change:
            return
        # The form has checked the permission; schedule_change checks it again inside the service.
        created = services.schedule_change(
            state_id=obj.state_id, enabled=obj.enabled, run_at=obj.run_at, actor=request.user, reason=obj.reason
        )
        obj.pk = created.pk

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Cancel", permissions=["flag_values"])
    def cancel(self, request, queryset):
        # The service checks the permission to make each change (production's for a production cell).
        from flags import services

        for change in queryset.filter(status=ScheduledChangeStatus.SCHEDULED):
            try:
                services.cancel_scheduled_change(scheduled_change_id=change.pk, actor=request.user)
            except FlagError as exc:
                self.message_user(request, f"{change}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{change}: cancelled.", messages.SUCCESS)
