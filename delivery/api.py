"""GET /api/metrics/dora/?environment=production&days=30: the four keys as JSON, for a read token."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from core.http import json_error
from delivery import metrics, strategy
from delivery.present import band_document
from delivery.query import BadQuery, read
from flags.public import api_tokens


@require_GET
def dora(request):
    token = api_tokens.resolve(api_tokens.bearer(request))
    if token is None:
        return json_error(401, "An API token is needed: Authorization: Bearer <token> (Feature flags → API tokens).")
    try:
        environment, days = read(request.GET)
    except BadQuery as exc:
        return json_error(exc.status, exc.message)
    if environment.key not in token["environments"]:
        return json_error(403, f"This token is not scoped to {environment.key}.")
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
