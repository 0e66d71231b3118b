from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from deployments import conf, hooks
from deployments.exceptions import DeploymentRefused


@csrf_exempt
@require_POST
def git_hook(request):
    try:
        hooks.verify_signature(conf.git_webhook_secrets(), request.body, request.headers.get("X-Hub-Signature-256", ""))
    except hooks.SignatureInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=401)
    event = request.headers.get("X-GitHub-Event", "push")
    if event == "ping":
        return JsonResponse({"pong": True})
    if event != "push":
        return JsonResponse({"ignored": f"event {event}"}, status=202)
    try:
        return JsonResponse(hooks.handle_push(request.body), status=201)
    except DeploymentRefused as exc:
        return JsonResponse({"error": str(exc)}, status=422)
