from django.urls import path

from deployments import api, views

urlpatterns = [
    path("api/hooks/git/", views.git_hook, name="git_hook"),
    path("api/deployments/releases/", api.create_release, name="api_create_release"),
    path("api/deployments/", api.start, name="api_start_deployment"),
    path("api/deployments/<int:pk>/", api.detail, name="api_deployment"),
    path("api/deployments/<int:pk>/switch-back/", api.switch_back, name="api_switch_back"),
    path("api/deployments/<int:pk>/checklist/<slug:key>/", api.check_item, name="api_check_item"),
]
