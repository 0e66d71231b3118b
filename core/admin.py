"""API tokens and service accounts in the admin. Every write goes through core.tokens, behind its permission."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone

from core import tokens
from core.models import EXPIRY_WARNING, ApiToken, Scope, ServiceAccount, default_expiry


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)
    expires_at = forms.SplitDateTimeField(widget=AdminSplitDateTime, help_text="90 days by default.")

    class Meta:
        model = ApiToken
        fields = ["name", "owner", "scopes", "environments", "expires_at"]
        help_texts = {"owner": "The token acts as this user: you, or a service account you manage."}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["owner"].queryset = tokens.owners_for(user)
        self.fields["owner"].initial = user.pk
        self.fields["expires_at"].initial = default_expiry()

    def clean(self):
        cleaned = super().clean()
        owner = cleaned.get("owner")
        if owner is not None and not tokens.may_own_tokens_of(self.user, owner):
            self.add_error("owner", "A token acts as you or a service account you manage.")
        return cleaned


class ExpiresSoonFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expires"

    def lookups(self, request, model_admin):
        return [("soon", "Expires within a week"), ("expired", "Expired"), ("live", "Live")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "soon":
            return queryset.filter(revoked_at__isnull=True, expires_at__gt=now, expires_at__lte=now + EXPIRY_WARNING)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now)
        if self.value() == "live":
            return queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "owner", "scope_list", "environment_list", "expires_at", "expires_soon",
                    "last_used_at", "revoked_at"]  # fmt: skip
    list_filter = [ExpiresSoonFilter]
    search_fields = ["name", "prefix", "owner__username"]
    readonly_fields = ["prefix", "owner", "created_by", "scope_list", "environment_list", "expires_at",
                       "created_at", "last_used_at", "revoked_at"]  # fmt: skip
    actions = ["revoke"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner").prefetch_related("environments")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "owner", "scopes", "environments", "expires_at"]
        return ["name", *self.readonly_fields]  # scope changes make a new token

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        user = request.user

        class Form(ApiTokenForm):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=user, **kw)

        return Form

    @admin.display(description="Scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    @admin.display(description="Environments")
    def environment_list(self, obj):
        return ", ".join(e.key for e in obj.environments.all())

    @admin.display(description="Expires soon", boolean=True)
    def expires_soon(self, obj):
        now = timezone.now()
        return obj.revoked_at is None and now < obj.expires_at <= now + EXPIRY_WARNING

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form_class = self.get_form(request)
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                token, raw = tokens.create_token(
                    created_by=request.user,
                    owner=data["owner"],
                    name=data["name"],
                    scopes=data["scopes"],
                    environments=data["environments"],
                    expires_at=data["expires_at"],
                )
            except tokens.TokenRefused as exc:
                form.add_error(None, str(exc))
            else:
                return self._shown_once(request, token, raw)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Add API token",
                   "form": form}  # fmt: skip
        return TemplateResponse(request, "admin/core/form.html", context)

    def save_model(self, request, obj, form, change):
        if not change:  # tokens are made by add_view through core.tokens.create_token only
            raise PermissionDenied
        super().save_model(request, obj, form, change)

    def _shown_once(self, request, token, raw):
        """The raw value, on a page of its own, once: never in a message, a session or a log."""
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "API token created",
                   "token": token, "raw": raw}  # fmt: skip
        response = TemplateResponse(request, "admin/core/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def has_revoke_permission(self, request):
        return request.user.has_perm(tokens.REVOKE_PERMISSION)

    @admin.action(description="Revoke", permissions=["revoke"])
    def revoke(self, request, queryset):
        try:
            count = tokens.revoke(actor=request.user, token_ids=list(queryset.values_list("pk", flat=True)))
        except tokens.TokenRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"{count} token(s) revoked.")

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the row is the record of what the token did


class ServiceAccountForm(forms.Form):
    username = forms.CharField(max_length=150)
    description = forms.CharField(max_length=200, required=False)
    permissions = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.SelectMultiple)
    groups = forms.ModelMultipleChoiceField(queryset=None, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["permissions"].queryset = tokens.grantable_permissions(user)
        self.fields["groups"].queryset = tokens.grantable_groups(user)


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin):
    list_display = ["__str__", "description", "created_by", "created_at"]
    readonly_fields = ["user", "created_by", "created_at"]
    fields = ["user", "description", "created_by", "created_at"]

    def has_add_permission(self, request):
        return request.user.has_perm(tokens.MANAGE_SERVICE_ACCOUNTS)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(tokens.MANAGE_SERVICE_ACCOUNTS)

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate its user instead: its tokens stop at once

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ServiceAccountForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                tokens.create_service_account(created_by=request.user, **form.cleaned_data)
            except tokens.TokenRefused as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Service account {form.cleaned_data['username']} created.")
                return self.response_post_save_add(request, None)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Add service account",
                   "form": form}  # fmt: skip
        return TemplateResponse(request, "admin/core/form.html", context)


# django_celery_beat's periodic-task actions (enable, disable, toggle, run now) declare no permission, so any
# staff login that may view periodic tasks could run them. They change the tasks: they need the change permission.
from django_celery_beat.admin import PeriodicTaskAdmin  # noqa: E402

for _name in ("enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks"):
    getattr(PeriodicTaskAdmin, _name).allowed_permissions = ("change",)

from core import task_results_admin  # noqa: E402,F401  (replaces django_celery_results' TaskResult admin)
