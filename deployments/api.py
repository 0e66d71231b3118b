"""The API CI uses: create releases, start deployments, read their state, report checklist items.

Authenticated with the console's API tokens (created in the admin under Feature flags → API tokens),
scoped to environments; writes need a token that may write.
"""

from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core.http import json_error, json_object
from deployments import progress, services
from deployments.choices import Actor, DeploymentStatus
from deployments.exceptions import DeploymentRefused, NotAllowed
from deployments.models import Deployment, Release
from environments.public import Environment


def _token(request, *, write, environment=None):
    """(token, None) or (None, error response)."""
    from flags.public import api_tokens as tokens

    try:
        token = tokens.resolve(tokens.bearer(request))
    except DatabaseError:
        return None, json_error(503, "the console's database is unavailable")
    if token is None:
        return None, json_error(401, "an API token is required: Authorization: Bearer <token>")
    if write and not token["can_write"]:
        return None, json_error(403, "this token is read-only")
    if environment is not None and environment not in token["environments"]:
        return None, json_error(403, f"this token is not scoped to {environment!r}")
    return token, None


def _user(token):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=token["acts_as_id"]).first()


def deployment_document(deployment):
    done, total = progress.progress(deployment)
    return {
        "id": deployment.pk,
        "release": deployment.release.version,
        "environment": deployment.environment.key,
        "status": deployment.status,
        "progress": {"done": done, "total": total},
        "traffic": dict(progress.traffic_split(deployment)),
        "steps": [
            {
                "name": s.name,
                "status": s.status,
                "attempts": s.attempts,
                "started_at": s.started_at,
                "finished_at": s.finished_at,
            }
            for s in deployment.steps.all()
        ],
        "checklist": [
            {"key": c.item.key, "phase": c.item.phase, "checked": c.checked, "source": c.source}
            for c in deployment.checklist.select_related("item")
        ],
        "rollback": {
            "detected_at": deployment.detected_at,
            "decided_at": deployment.decided_at,
            "executed_at": deployment.executed_at,
            "automatic": deployment.rollback_automatic,
            "reason": deployment.rollback_reason,
        },
    }


@csrf_exempt
@require_POST
def create_release(request):
    token, error = _token(request, write=True)
    if error:
        return error
    payload = json_object(request)
    if payload is None or not all(isinstance(payload.get(k), str) for k in ("version", "ref", "ref_kind")):
        return json_error(400, 'send {"version": "...", "ref": "...", "ref_kind": "branch"|"tag", "commit": "..."}')
    if Release.objects.filter(version=payload["version"]).exists():
        return json_error(409, f"release {payload['version']} already exists")
    try:
        release = services.create_release(
            version=payload["version"],
            ref=payload["ref"],
            ref_kind=payload["ref_kind"],
            commit=payload.get("commit") or "",
            changelog=payload.get("changelog") or "",
            actor=Actor.CI,
            user=_user(token),
        )
    except DeploymentRefused as exc:
        return json_error(400, str(exc))
    return JsonResponse({"version": release.version, "ref": release.ref, "ref_kind": release.ref_kind}, status=201)


@csrf_exempt
@require_POST
def start(request):
    payload = json_object(request)
    if (
        payload is None
        or not isinstance(payload.get("release"), str)
        or not isinstance(payload.get("environment"), str)
    ):
        return json_error(400, 'send {"release": "<version>", "environment": "<key>"}')
    token, error = _token(request, write=True, environment=payload["environment"])
    if error:
        return error
    release = Release.objects.filter(version=payload["release"]).first()
    environment = Environment.objects.filter(key=payload["environment"]).first()
    if release is None or environment is None:
        return json_error(404, "unknown release or environment")
    user = _user(token)
    if user is None:  # without a user the service would take the call for the console's own
        return json_error(403, "this token acts as nobody: a deployment needs a user with the permission")
    try:
        deployment = services.start_deployment(release=release, environment=environment, actor=Actor.CI, user=user)
    except NotAllowed as exc:
        return json_error(403, str(exc))
    except DeploymentRefused as exc:
        return json_error(409, str(exc))
    # Four-eyes: accepted, not started; the document's status says it awaits approval.
    status = 202 if deployment.status == DeploymentStatus.AWAITING_APPROVAL else 201
    return JsonResponse(deployment_document(deployment), status=status)


@require_GET
def detail(request, pk):
    deployment = (
        Deployment.objects.select_related("release", "environment", "from_slot", "to_slot").filter(pk=pk).first()
    )
    if deployment is None:
        return json_error(404, f"no deployment {pk}")
    _, error = _token(request, write=False, environment=deployment.environment.key)
    if error:
        return error
    return JsonResponse(deployment_document(deployment))


@csrf_exempt
@require_POST
def check_item(request, pk, key):
    deployment = Deployment.objects.select_related("environment").filter(pk=pk).first()
    if deployment is None:
        return json_error(404, f"no deployment {pk}")
    _, error = _token(request, write=True, environment=deployment.environment.key)
    if error:
        return error
    try:
        services.check_item(deployment_id=pk, item_key=key, actor=Actor.CI)
    except DeploymentRefused as exc:
        return json_error(422, str(exc))
    deployment.refresh_from_db()
    return JsonResponse(deployment_document(deployment))
