"""The commits of a push event, kept on its release: where DORA's lead time for changes starts."""

from django.utils.dateparse import parse_datetime

from deployments.models import ReleaseCommit

# GitHub sends at most 20 commits per push event; anything past this is not a push we understand.
MAX_COMMITS = 250


def _commit_rows(release, event):
    commits = event.get("commits")
    commits = commits if isinstance(commits, list) else []
    if not commits and isinstance(event.get("head_commit"), dict):
        commits = [event["head_commit"]]  # a tag push carries only its head commit
    rows = {}
    for commit in commits[:MAX_COMMITS]:
        if not isinstance(commit, dict):
            continue
        sha = str(commit.get("id") or "").lower()
        try:
            at = parse_datetime(str(commit.get("timestamp") or ""))
        except ValueError:
            at = None
        if (
            not (7 <= len(sha) <= 40)
            or any(c not in "0123456789abcdef" for c in sha)
            or at is None
            or at.tzinfo is None
        ):
            continue  # without a sha and an aware timestamp it cannot count towards lead time
        author = commit.get("author") or {}
        rows[sha] = ReleaseCommit(
            release=release,
            sha=sha,
            committed_at=at,
            author=str(author.get("name") or author.get("email") or "")[:200] if isinstance(author, dict) else "",
            message=str(commit.get("message") or "").split("\n", 1)[0][:300],
        )
    return list(rows.values())


def record_push_commits(*, release, event) -> int:
    """Store the commits of a push event (`commits[]`, else `head_commit`) on `release`; returns how many are new.

    A commit already stored for the release is left as it is, so a redelivered push changes nothing.
    """
    rows = _commit_rows(release, event)
    if not rows:
        return 0
    known = set(
        ReleaseCommit.objects.filter(release=release, sha__in=[r.sha for r in rows]).values_list("sha", flat=True)
    )
    new = [r for r in rows if r.sha not in known]
    ReleaseCommit.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)
