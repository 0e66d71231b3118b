from django.urls import path

from monitoring import views

urlpatterns = [
    path("api/alerts/alertmanager/", views.alertmanager_webhook, name="monitoring_alertmanager_webhook"),
]
