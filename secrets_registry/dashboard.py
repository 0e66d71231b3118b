from django.urls import reverse
from django.utils import timezone

from core.dashboard import CardLine
from secrets_registry.models import SecretReference


def secret_lines(environments):
    """On each environment's card: missing and overdue secrets, red when any. One query for all cards."""
    now = timezone.now()
    by_env = {}
    for reference in SecretReference.objects.filter(environment_id__in=[e.pk for e in environments]):
        by_env.setdefault(reference.environment_id, []).append(reference)
    lines = {}
    for environment in environments:
        references = by_env.get(environment.pk)
        if not references:
            continue
        missing = sum(1 for r in references if r.exists is False or (r.exists and not r.has_current))
        unreplicated = sum(1 for r in references if r.exists and r.replicated is False)
        overdue = sum(1 for r in references if r.is_overdue(now))
        unchecked = sum(1 for r in references if r.last_checked_at is None)
        url = reverse("admin:secrets_registry_secretreference_environment", args=[environment.key])
        parts = [f"{missing} missing", f"{overdue} overdue"]
        if unreplicated:
            parts.append(f"{unreplicated} not replicated")
        if unchecked:
            parts.append(f"{unchecked} unchecked")
        bad = missing or overdue or unreplicated
        lines[environment.pk] = [
            CardLine("Secrets", ", ".join(parts), tone="bad" if bad else ("warn" if unchecked else "ok"), url=url)
        ]
    return lines
