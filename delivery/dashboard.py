from django.urls import reverse

from core.dashboard import CardLine


def delivery_lines(environments):
    """A link to each environment's DORA page; no query, the figures live on the page."""
    url = reverse("delivery:dora")
    return {
        env.pk: [CardLine("Delivery", "DORA, 30 days", url=f"{url}?environment={env.key}&days=30")]
        for env in environments
    }
