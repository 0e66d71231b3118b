from django.urls import path

from incidents import api, views

urlpatterns = [
    path("status/", views.status_page, name="status_page"),
    path("api/incidents/contacts/", api.contacts, name="incident_contacts"),
    path("api/incidents/contacts/<int:contact_id>/", api.contact, name="incident_contact"),
]
