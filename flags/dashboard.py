from django.db.models import Count, Q
from django.urls import reverse

from core.dashboard import CardLine
from flags.choices import ChangeRequestStatus
from flags.models import FlagState


def flag_lines(environments):
    # One query for every card: values on, total cells and pending approvals per environment.
    rows = {
        row["environment_id"]: row
        for row in FlagState.objects.values("environment_id").annotate(
            total=Count("pk", distinct=True),
            on=Count("pk", filter=Q(enabled=True), distinct=True),
            pending=Count(
                "change_requests", filter=Q(change_requests__status=ChangeRequestStatus.PENDING), distinct=True
            ),
        )
    }
    url = reverse("admin:flags_flag_changelist")
    approvals = reverse("admin:flags_changerequest_changelist") + "?status__exact=pending"
    lines = {}
    for env in environments:
        row = rows.get(env.pk, {"total": 0, "on": 0, "pending": 0})
        lines[env.pk] = [CardLine("Flags", f"{row['on']} of {row['total']} on", url=url)]
        if row["pending"]:
            lines[env.pk].append(CardLine("Flag approvals", f"{row['pending']} waiting", tone="warn", url=approvals))
    return lines
