"""The API CI uses: register a release's migrations, report them tested locally, read their state.

Authenticated as the deployments API is, with the console's API tokens (Authorization: Bearer),
or with a staff session holding the migrations permissions.
"""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core.http import json_error, json_object
from deployments.public import Actor, Release
from flags.public import api_tokens as tokens
from migrations_log import services
from migrations_log.exceptions import MigrationRefused


def _caller(request, *, write):
    """(user, actor, None) or (None, None, error response)."""
    if request.headers.get("Authorization", "").startswith("Bearer "):
        token = tokens.resolve(tokens.bearer(request))
        if token is None:
            return None, None, json_error(401, "this API token is unknown or revoked")
        if write and not token["can_write"]:
            return None, None, json_error(403, "this token is read-only")
        from django.contrib.auth import get_user_model

        return get_user_model().objects.filter(pk=token["acts_as_id"]).first(), Actor.CI, None
    user = request.user
    if not (user.is_authenticated and user.is_staff):
        return None, None, json_error(401, "an API token or a staff session is required")
    perm = "migrations_log.add_migration" if write else "migrations_log.view_migration"
    if not user.has_perm(perm):
        return None, None, json_error(403, f"you need the {perm} permission")
    return user, Actor.CI, None


def release_document(release):
    environments, rows = services.matrix(release)
    return {
        "release": release.version,
        "migrations": [
            {
                "identifier": migration.identifier,
                "sha256": migration.sha256,
                "classification": migration.classification,
                "estimate_seconds": migration.estimate_seconds,
                "tested_locally": migration.tested_locally_at is not None,
                "findings": [
                    {
                        "file": f.migration.filename,
                        "line": f.line,
                        "rule": f.rule,
                        "severity": f.severity,
                        "help": f.help,
                    }
                    for f in migration.findings.all()
                ],
                "environments": {
                    environment.key: (
                        None
                        if run is None
                        else {
                            "status": run.status,
                            "duration_seconds": run.duration_seconds,
                            "verified": run.verified_at is not None,
                            "slow": run.slow,
                        }
                    )
                    for environment, run in cells
                },
            }
            for migration, cells in rows
        ],
        "promotion": {e.key: services.start_refusal(release=release, environment=e) or "ok" for e in environments},
    }


@csrf_exempt
@require_POST
def register(request):
    user, actor, error = _caller(request, write=True)
    if error:
        return error
    payload = json_object(request)
    if payload is None or not isinstance(payload.get("files"), dict):
        return json_error(400, 'send JSON: {"version": "v2.0", "files": {"0001_name.sql": "SQL…"}}')
    if not all(isinstance(v, str) for v in payload["files"].values()):
        return json_error(400, "each file's content is a string of SQL")
    try:
        registered = services.register_release(
            version=str(payload.get("version", "")),
            files=payload["files"],
            ref=str(payload.get("ref", "")),
            ref_kind=str(payload.get("ref_kind", "")),
            actor=actor,
            user=user,
        )
    except MigrationRefused as exc:
        return json_error(409, str(exc))
    return JsonResponse({"summary": registered.summary(), **release_document(registered.release)}, status=201)


@csrf_exempt
@require_POST
def tested_locally(request, version):
    _, _, error = _caller(request, write=True)
    if error:
        return error
    payload = json_object(request)
    if payload is None:
        return json_error(400, 'send JSON, e.g. {} or {"identifiers": ["0007_add_note"]}')
    try:
        count = services.report_tested_locally(version=version, identifiers=payload.get("identifiers"))
    except MigrationRefused as exc:
        return json_error(404, str(exc))
    return JsonResponse({"reported": count})


@require_GET
def detail(request, version):
    _, _, error = _caller(request, write=False)
    if error:
        return error
    release = Release.objects.filter(version=version).first()
    if release is None:
        return json_error(404, f"no release {version!r}")
    return JsonResponse(release_document(release))
