"""The console's 403 page: which permission is missing, which role grants it, and a way back.

A view says what it needed with `PermissionDenied("deployments.deploy_production")` (or a sentence); a bare
PermissionDenied from an admin model page is read from the URL (app_model_change needs app.change_model).
"""

import re

from django.http import HttpResponseForbidden
from django.template import loader
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme

from core import roles

_PERMISSION = re.compile(r"^[a-z_]+\.[a-z_]+$")
_ADMIN_VIEW = re.compile(r"^(?P<app>[a-z_]+?)_(?P<model>[a-z]+)_(?P<view>changelist|change|add|delete|history)$")
_VIEW_NEEDS = {"changelist": "view", "change": "view", "history": "view", "add": "add", "delete": "delete"}


def missing_permission(request, exception) -> tuple[str, str]:
    """(permission, sentence): what the refused page needed, as well as can be told."""
    text = str(exception or "").strip()
    if _PERMISSION.match(text):
        return text, ""
    if text:
        return "", text
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return "", ""
    found = _ADMIN_VIEW.match(match.url_name or "")
    if found:
        app = found["app"]
        for model in _models_of(app):
            if match.url_name.startswith(f"{app}_{model}_"):
                return f"{app}.{_VIEW_NEEDS[found['view']]}_{model}", ""
    return "", ""


def _models_of(app_label):
    from django.apps import apps

    try:
        return sorted((m._meta.model_name for m in apps.get_app_config(app_label).get_models()), key=len, reverse=True)
    except LookupError:
        return []


def roles_granting(permission: str) -> list[str]:
    return [role for role in roles.ROLES if permission in roles.role_permissions(role)] if permission else []


def permission_denied(request, exception=None, template_name="403.html"):
    """handler403: the console's page instead of a bare "403 Forbidden"."""
    permission, sentence = missing_permission(request, exception)
    back = request.META.get("HTTP_REFERER", "")
    if not back or not url_has_allowed_host_and_scheme(back, {request.get_host()}) or back.endswith(request.path):
        back = "/admin/"
    context = {
        "title": "Not allowed",
        "permission": permission,
        "sentence": sentence,
        "roles": roles_granting(permission),
        "back": back,
        "site_header": "AMARISÉ Ops",
        "site_title": "AMARISÉ Ops",
        "has_permission": getattr(request.user, "is_staff", False),
    }
    body = loader.get_template(template_name).render(context, request)
    return HttpResponseForbidden(body)
