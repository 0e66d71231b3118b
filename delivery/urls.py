from django.contrib import admin
from django.urls import path

from delivery import api, views

app_name = "delivery"

urlpatterns = [
    path("api/metrics/dora/", api.dora, name="api_dora"),
    # Admin pages, before the admin's own catch-all (see amarise_ops/urls.py).
    path("admin/delivery/dora/", admin.site.admin_view(views.dora_page), name="dora"),
    path("admin/delivery/dora/export.csv", admin.site.admin_view(views.dora_export), name="dora_export"),
]
