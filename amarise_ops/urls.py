from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from core.views import healthz

# The admin's modules load here, with the first page, not in every command (core.apps.OpsAdminConfig).
admin.autodiscover()

# A refused page is the console's, saying which permission is missing and how to get back.
handler403 = "core.refusals.permission_denied"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", healthz, name="healthz"),
    # Before the admin: its catch-all would answer /admin/delivery/dora/ with a 404.
    path("", include("delivery.urls")),
    path("admin/", admin.site.urls),
    # Each app owns its public paths (APIs, hooks, pages).
    path("", include("flags.urls")),
    path("", include("deployments.urls")),
    path("", include("incidents.urls")),
    path("", include("migrations_log.urls")),
    path("", include("monitoring.urls")),
]
