"""The monitoring page of an environment: a server-side SVG chart per catalog metric, and its firing alerts."""

from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from environments.public import Environment


def environment_page(request, key, *, admin_context):
    environment = get_object_or_404(Environment, key=key)
    context = {**admin_context, "environment": environment, "title": f"Monitoring: {environment}"}
    return TemplateResponse(request, "admin/monitoring/page.html", context)
