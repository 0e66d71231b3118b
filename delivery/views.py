"""The DORA page and the CSV export of the deployments behind each figure (admin, view permission)."""

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from core.http import json_error
from delivery import exports, metrics, strategy
from delivery.chart import trend_charts
from delivery.choices import Metric
from delivery.links import figure_links
from delivery.present import duration_text
from delivery.query import BadQuery, read
from environments.public import Environment

PERMISSION = "delivery.view_delivery_metrics"


def _require(request):
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("Viewing delivery metrics needs the permission “Can view the DORA page”.")


def dora_page(request):
    _require(request)
    context = {
        **admin.site.each_context(request),
        "title": "Delivery performance (DORA)",
        "periods": metrics.PERIODS,
        "environments": list(Environment.objects.values_list("key", "name")),
        "source": strategy.SOURCE,
        "bands_url": reverse("admin:delivery_performanceband_changelist"),
    }
    try:
        environment, days = read(request.GET, default_environment="production")
    except BadQuery as exc:
        context["error"] = exc.message
        return TemplateResponse(request, "admin/delivery/dora.html", context, status=exc.status)
    p = metrics.period(environment, days)
    keys, rows = metrics.with_trend(p)
    export = reverse("delivery:dora_export")
    context.update(
        environment=environment,
        days=days,
        period=p,
        frequency=keys[Metric.DEPLOYMENT_FREQUENCY],
        lead=keys[Metric.LEAD_TIME],
        failure=keys[Metric.CHANGE_FAILURE_RATE],
        restore=keys[Metric.TIME_TO_RESTORE],
        lead_text={k: duration_text(keys[Metric.LEAD_TIME][f"{k}_seconds"]) for k in ("median", "p90")},
        restore_text={k: duration_text(keys[Metric.TIME_TO_RESTORE][f"{k}_seconds"]) for k in ("median", "p90")},
        failure_kinds=[
            (kind, metrics.FAILURE_LABELS[kind], n) for kind, n in keys[Metric.CHANGE_FAILURE_RATE]["by_kind"].items()
        ],
        links=figure_links(p),
        charts=trend_charts(rows, duration_text=duration_text),
        trend_weeks=len(rows),
        exports={
            figure: f"{export}?environment={environment.key}&days={days}&figure={figure}" for figure in exports.FIGURES
        },
    )
    return TemplateResponse(request, "admin/delivery/dora.html", context)


class _Echo:
    def write(self, value):
        return value


def dora_export(request):
    _require(request)
    try:
        environment, days = read(request.GET)
        figure = request.GET.get("figure", "")
        if figure not in exports.FIGURES:
            raise BadQuery(400, f"figure must be one of {', '.join(exports.FIGURES)}.")
    except BadQuery as exc:
        return json_error(exc.status, exc.message)
    p = metrics.period(environment, days)
    header, rows = exports.rows(p, figure)
    writer = csv.writer(_Echo())
    lines = (writer.writerow(row) for row in _with_header(header, rows))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    name = f"dora-{environment.key}-{days}d-{figure}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _with_header(header, rows):
    yield header
    yield from rows
