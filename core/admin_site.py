from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from core import roles
from core.dashboard import environment_cards


class OpsAdminSite(admin.AdminSite):
    site_header = "AMARISÉ Ops"
    site_title = "AMARISÉ Ops"
    index_title = "Environments"
    index_template = "admin/ops_index.html"

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "environment_cards": environment_cards()}
        return super().index(request, extra_context)

    def get_urls(self):
        return [path("roles/", self.admin_view(self.roles_view), name="roles")] + super().get_urls()

    def roles_view(self, request):
        """Role × action, from core.roles and from the groups as they are: a hand-edited group shows its drift."""
        if not request.user.has_perm("auth.view_group"):
            raise PermissionDenied
        columns, rows = roles.matrix()
        context = {
            **self.each_context(request),
            "title": "Roles",
            "columns": columns,
            "rows": rows,
            "drift": any(c.drift for c in columns),
        }
        return TemplateResponse(request, "admin/roles.html", context)


class SecretPagesMixin:
    """A model where secrets live says so with `admin_view_needs_one_of = (permissions...)`: its pages are shown
    to a login with the view permission AND one of these (or the change permission), never to a bare viewer.
    The Viewer role reads everything but secrets."""

    def has_view_permission(self, request, obj=None):
        extra = getattr(self.model, "admin_view_needs_one_of", None)
        if extra is None:
            return super().has_view_permission(request, obj)
        if self.has_change_permission(request, obj):
            return True
        user = request.user
        return super().has_view_permission(request, obj) and any(user.has_perm(p) for p in extra)
