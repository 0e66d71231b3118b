"""{% load ops_format %}: {{ run.duration|human_duration }} ('2 min 3 s') and {{ at|instant }} on every page."""

from django import template

from core import formatting

register = template.Library()


@register.filter
def human_duration(value):
    return formatting.human_duration(value)


@register.filter
def instant(value):
    return formatting.instant(value)
