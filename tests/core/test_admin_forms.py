"""Admin forms ready for Django 6: no URLField left to guess its scheme (RemovedInDjango60Warning).

Generic over `admin.site._registry`, so a URLField added later to a model an admin edits fails here.
"""

import warnings

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.utils.deprecation import RemovedInDjango60Warning

from deployments.models import DeploymentPolicy

pytestmark = pytest.mark.django_db


def _django6_warnings(build):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build()
    return [str(w.message) for w in caught if issubclass(w.category, RemovedInDjango60Warning)]


def test_every_admin_form_and_inline__no_django6_deprecation(admin_user):
    request = RequestFactory().get("/")
    request.user = admin_user

    def build_all():
        for model_admin in admin.site._registry.values():
            model_admin.get_form(request)
            for inline in model_admin.get_inline_instances(request):
                inline.get_formset(request)

    assert _django6_warnings(build_all) == []


def test_deployment_policy_page__rendered__no_django6_deprecation(seeded, admin_client):
    policy = DeploymentPolicy.objects.first()
    pages = []

    def render():
        pages.append(admin_client.get(f"/admin/deployments/deploymentpolicy/{policy.pk}/change/"))

    assert _django6_warnings(render) == []
    assert pages[0].status_code == 200 and 'name="deploy_webhook_url"' in pages[0].content.decode()
