"""Auto-deploy on merge: GitHub-style push events, verified with X-Hub-Signature-256."""

import hashlib
import hmac

from django.db import transaction

from core.http import BodyRefused, parse_json
from deployments import services
from deployments.choices import Actor, DeploymentStatus, RefKind
from deployments.commits import record_push_commits
from deployments.exceptions import DeploymentRefused
from deployments.models import DeploymentPolicy, Release


class SignatureInvalid(Exception):
    pass


def verify_signature(secrets: str | list[str], body: bytes, header: str):
    """`secrets`: the current value, and the pending one during a rotation's overlap; any of them may sign."""
    secrets = [secrets] if isinstance(secrets, str) else list(secrets)
    secrets = [s for s in secrets if s]
    if not secrets:
        raise SignatureInvalid("The webhook secret is not configured (OPS_GIT_WEBHOOK_SECRET).")
    given = (header or "").encode("utf-8", "replace")
    # As bytes: compare_digest refuses str with non-ASCII characters (a header may carry any).
    expected = ["sha256=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets]
    if not header or not any(hmac.compare_digest(e.encode(), given) for e in expected):
        raise SignatureInvalid("X-Hub-Signature-256 does not match the payload.")


def parse_ref(full_ref: str):
    if full_ref.startswith("refs/heads/"):
        return full_ref.removeprefix("refs/heads/"), RefKind.BRANCH
    if full_ref.startswith("refs/tags/"):
        return full_ref.removeprefix("refs/tags/"), RefKind.TAG
    raise DeploymentRefused(f"Unsupported ref {full_ref!r}.")


def handle_push(body: bytes) -> dict:
    """Create the release a push describes; deploy it where the policy deploys automatically."""
    try:
        event = parse_json(body)
    except BodyRefused as exc:
        raise DeploymentRefused(f"Not a push event: {exc.message}.") from None
    if not isinstance(event, dict) or not isinstance(event.get("ref"), str):
        raise DeploymentRefused('Not a push event: send a JSON object with "ref": "refs/heads/<branch>".')
    ref, kind = parse_ref(event["ref"])
    commit = event.get("after") or ""
    if not isinstance(commit, str):
        raise DeploymentRefused('Not a push event: "after" must be the commit SHA, a string.')
    if event.get("deleted"):
        return {"ignored": f"{ref} was deleted"}
    version = ref if kind == RefKind.TAG else f"{ref}@{commit[:7]}"
    head = event.get("head_commit") or {}
    message = head.get("message") if isinstance(head, dict) else ""
    message = (message if isinstance(message, str) else "")[:2000]

    with transaction.atomic():
        release = Release.objects.filter(version=version).first()
        if release is None:
            release = services.create_release(
                version=version, ref=ref, ref_kind=kind, commit=commit, changelog=message, actor=Actor.HOOK
            )
        record_push_commits(release=release, event=event)
        policies = [p for p in DeploymentPolicy.objects.select_related("environment") if not p.refusal_for(release)]
    deployments, awaiting = [], []
    for policy in policies:
        if policy.auto_deploy and not release.deployments.filter(environment=policy.environment).exists():
            # Four-eyes holds a hook's deployment as any other: it waits for a person's approval.
            deployment = services.start_deployment(release=release, environment=policy.environment, actor=Actor.HOOK)
            deployments.append(deployment.pk)
            if deployment.status == DeploymentStatus.AWAITING_APPROVAL:
                awaiting.append(deployment.pk)
    return {
        "release": release.version,
        "candidate_for": [p.environment.key for p in policies],
        "deployments": deployments,
        "awaiting_approval": awaiting,
    }
