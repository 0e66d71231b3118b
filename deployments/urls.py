from django.urls import path

from deployments import views

urlpatterns = [
    path("api/hooks/git/", views.git_hook, name="git_hook"),
]
