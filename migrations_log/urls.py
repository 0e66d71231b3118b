from django.urls import path

from migrations_log import api

urlpatterns = [
    path("api/migrations/releases/", api.register, name="api_migrations_register"),
    path("api/migrations/releases/<str:version>/", api.detail, name="api_migrations_release"),
    path("api/migrations/releases/<str:version>/tested-locally/", api.tested_locally, name="api_migrations_tested"),
]
