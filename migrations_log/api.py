"""The API CI uses: register a release's migrations, report them tested locally, read their state.

Authenticated by core.auth: an API token (Authorization: Bearer) with the migrations:write scope, or a staff
session whose writes carry a CSRF token. Either way the user needs the migrations permission the admin asks for.
"""

from django.http import JsonResponse

from core import auth
from core.http import json_error, json_object
from core.models import Scope
from deployments.public import Actor, Release
from environments.public import EnvironmentKey
from migrations_log import services
from migrations_log.exceptions import MigrationRefused

# Registering a release's migrations acts on production (what production will run, as creating a release
# does); reporting them tested locally acts on the local environment. So a dev token cannot register the
# migrations production will run, and a production-only token cannot vouch for a developer's machine.
REGISTER_ENVIRONMENT = EnvironmentKey.PRODUCTION.value
TESTED_LOCALLY_ENVIRONMENT = EnvironmentKey.LOCAL.value
WRITE = ["migrations_log.add_migration"]
VIEW = ["migrations_log.view_migration"]


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


@auth.api("POST")
def register(request):
    """Acts on production (REGISTER_ENVIRONMENT)."""
    caller = auth.authenticate(
        request, scope=Scope.MIGRATIONS_WRITE, environment=REGISTER_ENVIRONMENT, permissions=WRITE, session=True
    )
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
            actor=Actor.CI,
            user=caller.user,
        )
    except MigrationRefused as exc:
        return json_error(409, str(exc))
    return JsonResponse({"summary": registered.summary(), **release_document(registered.release)}, status=201)


@auth.api("POST")
def tested_locally(request, version):
    """Acts on the local environment (TESTED_LOCALLY_ENVIRONMENT)."""
    auth.authenticate(
        request, scope=Scope.MIGRATIONS_WRITE, environment=TESTED_LOCALLY_ENVIRONMENT, permissions=WRITE, session=True
    )
    payload = json_object(request)
    if payload is None:
        return json_error(400, 'send JSON, e.g. {} or {"identifiers": ["0007_add_note"]}')
    try:
        count = services.report_tested_locally(version=version, identifiers=payload.get("identifiers"))
    except MigrationRefused as exc:
        return json_error(404, str(exc))
    return JsonResponse({"reported": count})


@auth.api("GET", "HEAD")
def detail(request, version):
    """A read: any scope will do, and migrations_log.view_migration."""
    auth.authenticate(request, scope=auth.READ, permissions=VIEW, session=True)
    release = Release.objects.filter(version=version).first()
    if release is None:
        return json_error(404, f"no release {version!r}")
    return JsonResponse(release_document(release))
