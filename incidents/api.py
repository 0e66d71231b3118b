"""Who is told of an environment's incidents (stakeholders and on-call addresses), per environment and severity.

    GET    /api/incidents/contacts/?environment=production   list (any scope; incidents.view_contact)
    POST   /api/incidents/contacts/   {"environment": "production", "email": "...", "severity": "critical",
                                       "role": "oncall"|"stakeholder"}            (incidents:write; add_contact)
    DELETE /api/incidents/contacts/<id>/                                          (incidents:write; delete_contact)

A token acts as its owner within its environments: it lists, adds and removes contacts of those only.
"""

from django.http import HttpResponse, JsonResponse

from core import auth
from core.http import json_error, json_object
from core.models import Scope
from incidents import services
from incidents.exceptions import IncidentRefused

VIEW = ["incidents.view_contact"]
ADD = ["incidents.add_contact"]
DELETE = ["incidents.delete_contact"]


def _document(contact):
    return {
        "id": contact.pk,
        "environment": contact.environment.key,
        "severity": contact.severity.key if contact.severity_id else None,
        "email": contact.email,
        "role": contact.role,
    }


@auth.api("GET", "HEAD", "POST")
def contacts(request):
    if request.method == "POST":
        return _add(request)
    auth.authenticate(request, scope=auth.READ, permissions=VIEW, session=True)
    environment = request.GET.get("environment") or None
    if environment is not None:
        auth.require_environment(request, environment)
    rows = services.contacts(environment=environment)
    if getattr(request, "api_token", None) is not None:
        rows = rows.filter(environment__key__in=auth.token_environments(request))
    return JsonResponse({"contacts": [_document(c) for c in rows]})


def _add(request):
    caller = auth.authenticate(request, scope=Scope.INCIDENTS_WRITE, permissions=ADD, session=True)
    payload = json_object(request)
    if payload is None:
        return json_error(400, 'send JSON: {"environment": "production", "email": "oncall@example.com"}')
    unknown = set(payload) - {"environment", "email", "severity", "role"}
    if unknown:
        return json_error(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    environment = payload.get("environment")
    if not isinstance(environment, str) or not environment:
        return json_error(400, "'environment' is required (an environment key, e.g. production)")
    auth.require_environment(request, environment)
    try:
        contact = services.add_contact(
            environment=environment,
            email=payload.get("email"),
            severity=payload.get("severity"),
            role=payload.get("role") or "stakeholder",
            user=caller.user,
        )
    except IncidentRefused as exc:
        return json_error(400, str(exc))
    return JsonResponse(_document(contact), status=201)


@auth.api("DELETE")
def contact(request, contact_id):
    caller = auth.authenticate(request, scope=Scope.INCIDENTS_WRITE, permissions=DELETE, session=True)
    found = services.contacts().filter(pk=contact_id).first()
    if found is None:
        return json_error(404, f"no contact #{contact_id}")
    auth.require_environment(request, found.environment.key)
    services.remove_contact(contact_id=found.pk, user=caller.user)
    return HttpResponse(status=204)
