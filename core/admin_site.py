from django.contrib import admin

from core.dashboard import environment_cards


class OpsAdminSite(admin.AdminSite):
    site_header = "AMARISÉ Ops"
    site_title = "AMARISÉ Ops"
    index_title = "Environments"
    index_template = "admin/ops_index.html"

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "environment_cards": environment_cards()}
        return super().index(request, extra_context)


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
