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
