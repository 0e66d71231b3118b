"""The public release notes the status page shows: only notes of succeeded deployments, once published."""

from dataclasses import dataclass

from deployments.choices import DeploymentStatus
from deployments.models import Deployment


@dataclass(frozen=True)
class PublishedNote:
    """Everything the status page may show of a release: no field outside this reaches its template."""

    environment: str
    version: str
    note: str
    published_at: object


def published_release_notes(*, since=None, limit=5) -> list[PublishedNote]:
    rows = Deployment.objects.filter(
        status=DeploymentStatus.SUCCEEDED, release_note_published_at__isnull=False
    ).exclude(release_note="")
    if since is not None:
        rows = rows.filter(release_note_published_at__gte=since)
    rows = rows.select_related("environment", "release").order_by("-release_note_published_at")[:limit]
    return [
        PublishedNote(
            environment=d.environment.name,
            version=d.release.version,
            note=d.release_note,
            published_at=d.release_note_published_at,
        )
        for d in rows
    ]
