from django.urls import path

from incidents import views

urlpatterns = [
    path("status/", views.status_page, name="status_page"),
]
