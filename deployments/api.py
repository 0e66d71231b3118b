"""The API CI uses: create releases, start deployments, read their state, report checklist items.

Authenticated by core.auth with the console's API tokens (Console → API tokens): each endpoint names its
scope and the environment it acts on, and the token's owner needs the permission the admin asks for.
"""

from django.http import JsonResponse

from core import auth
from core.http import json_error, json_object
from core.models import Scope
from deployments import progress, services
from deployments.choices import Actor, DeploymentStatus
from deployments.engine.switchback import status_label
from deployments.exceptions import DeploymentRefused, NotAllowed
from deployments.models import Deployment, Release
from environments.public import Environment, EnvironmentKey

# The environment a new release is for: production deploys it in the end, so a token that cannot act on
# production cannot create what production will run (a dev token's release would otherwise reach it).
RELEASE_ENVIRONMENT = EnvironmentKey.PRODUCTION.value


def deployment_document(deployment):
    state = progress.progress(deployment)
    return {
        "id": deployment.pk,
        "release": deployment.release.version,
        "environment": deployment.environment.key,
        "status": deployment.status,
        "status_label": status_label(deployment),
        "watching_until": deployment.watching_until,
        "progress": {"done": state.passed, "skipped": state.skipped, "failed": state.failed, "total": state.total},
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


@auth.api("POST")
def create_release(request):
    """Acts on production (RELEASE_ENVIRONMENT): needs releases:write there and deployments.add_release."""
    caller = auth.authenticate(
        request, scope=Scope.RELEASES_WRITE, environment=RELEASE_ENVIRONMENT, permissions=["deployments.add_release"]
    )
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
            user=caller.user,
        )
    except DeploymentRefused as exc:
        return json_error(400, str(exc))
    return JsonResponse({"version": release.version, "ref": release.ref, "ref_kind": release.ref_kind}, status=201)


@auth.api("POST")
def start(request):
    """Acts on the body's environment: deployments:write there and deployments.operate_deployment."""
    caller = auth.authenticate(request, scope=Scope.DEPLOYMENTS_WRITE, permissions=["deployments.operate_deployment"])
    payload = json_object(request)
    if (
        payload is None
        or not isinstance(payload.get("release"), str)
        or not isinstance(payload.get("environment"), str)
    ):
        return json_error(400, 'send {"release": "<version>", "environment": "<key>"}')
    if not isinstance(payload.get("release_note", ""), str):
        return json_error(400, '"release_note" is optional text for the public status page')
    auth.require_environment(request, payload["environment"])
    release = Release.objects.filter(version=payload["release"]).first()
    environment = Environment.objects.filter(key=payload["environment"]).first()
    if release is None or environment is None:
        return json_error(404, "unknown release or environment")
    try:
        deployment = services.start_deployment(
            release=release,
            environment=environment,
            actor=Actor.CI,
            user=caller.user,
            release_note=payload.get("release_note", ""),
        )
    except NotAllowed as exc:
        return json_error(403, str(exc))
    except DeploymentRefused as exc:
        return json_error(409, str(exc))
    # Four-eyes: accepted, not started; the document's status says it awaits approval.
    status = 202 if deployment.status == DeploymentStatus.AWAITING_APPROVAL else 201
    return JsonResponse(deployment_document(deployment), status=status)


@auth.api("GET", "HEAD")
def detail(request, pk):
    """Acts on the deployment's environment: any scope there, and deployments.view_deployment."""
    auth.authenticate(request, scope=auth.READ, permissions=["deployments.view_deployment"])
    deployment = (
        Deployment.objects.select_related("release", "environment", "from_slot", "to_slot").filter(pk=pk).first()
    )
    if deployment is None:
        return json_error(404, f"no deployment {pk}")
    auth.require_environment(request, deployment.environment.key)
    return JsonResponse(deployment_document(deployment))


@auth.api("POST")
def check_item(request, pk, key):
    """Acts on the deployment's environment: deployments:write there and deployments.check_checklist."""
    caller = auth.authenticate(request, scope=Scope.DEPLOYMENTS_WRITE, permissions=["deployments.check_checklist"])
    deployment = Deployment.objects.select_related("environment").filter(pk=pk).first()
    if deployment is None:
        return json_error(404, f"no deployment {pk}")
    auth.require_environment(request, deployment.environment.key)
    try:
        services.check_item(deployment_id=pk, item_key=key, actor=Actor.CI, user=caller.user)
    except DeploymentRefused as exc:
        return json_error(422, str(exc))
    deployment.refresh_from_db()
    return JsonResponse(deployment_document(deployment))


@auth.api("POST")
def switch_back(request, pk):
    """Acts on the deployment's environment: deployments:write there and deployments.operate_deployment
    (deployments.deploy_production too in production). Body {"reason": "..."}; 202: queued on `deployments`."""
    caller = auth.authenticate(request, scope=Scope.DEPLOYMENTS_WRITE, permissions=["deployments.operate_deployment"])
    deployment = Deployment.objects.select_related("environment").filter(pk=pk).first()
    if deployment is None:
        return json_error(404, f"no deployment {pk}")
    auth.require_environment(request, deployment.environment.key)
    payload = json_object(request)
    if payload is None or not isinstance(payload.get("reason"), str):
        return json_error(400, 'send {"reason": "why traffic goes back to the standby slot"}')
    try:
        services.switch_back(deployment_id=pk, user=caller.user, reason=payload["reason"], actor=Actor.CI)
    except NotAllowed as exc:
        return json_error(403, str(exc))
    except DeploymentRefused as exc:
        return json_error(409, str(exc))
    deployment.refresh_from_db()
    return JsonResponse(deployment_document(deployment), status=202)
