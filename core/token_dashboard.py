"""The admin index's "API tokens" line per environment: tokens that expire within a week."""

from django.urls import reverse

from core.dashboard import CardLine
from core.tokens import expiring


def token_lines(environments):
    # One query for every card.
    soon = {}
    for token in expiring():
        for environment in token.environments.all():
            soon.setdefault(environment.pk, []).append(token)
    url = reverse("admin:core_apitoken_changelist") + "?expires=soon"
    return {
        pk: [CardLine("API tokens", f"{len(items)} expire within a week", tone="warn", url=url)]
        for pk, items in soon.items()
    }
