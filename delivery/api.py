"""GET /api/metrics/dora/?environment=production&days=30: the four keys as JSON, for a read token."""

from django.http import JsonResponse

from core import auth
from core.http import json_error
from delivery import metrics, strategy
from delivery.present import band_document
from delivery.query import BadQuery, read

PERMISSION = "delivery.view_delivery_metrics"  # what the DORA page asks for


@auth.api("GET", "HEAD")
def dora(request):
    """A read of the query's environment: any scope there, and the DORA page's permission."""
    auth.authenticate(request, scope=auth.READ, permissions=[PERMISSION])
    try:
        environment, days = read(request.GET)
    except BadQuery as exc:
        return json_error(exc.status, exc.message)
    auth.require_environment(request, environment.key)
    p = metrics.period(environment, days)
    keys = metrics.four_keys(p)
    document = {
        "environment": environment.key,
        "days": days,
        "from": p.start.isoformat(),
        "to": p.end.isoformat(),
        "bands_source": strategy.SOURCE,
    }
    for metric, figures in keys.items():
        document[str(metric)] = {**figures, "band": band_document(figures["band"])}
    return JsonResponse(document)
