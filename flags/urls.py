from django.urls import path

from flags import api

urlpatterns = [
    path("api/flags/<slug:environment>/", api.flag_document, name="flags-document"),
    path("api/flags/<slug:environment>/<str:key>/", api.flag_detail, name="flags-detail"),
    path("ofrep/v1/evaluate/flags", api.ofrep_evaluate_all, name="ofrep-evaluate-all"),
    path("ofrep/v1/evaluate/flags/<str:key>", api.ofrep_evaluate, name="ofrep-evaluate"),
]
