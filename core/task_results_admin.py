"""django_celery_results' TaskResult admin, made lean for a year of results (issue 19).

Its own admin draws a date hierarchy over the whole table, DISTINCT sidebar filters over every task name and
worker, and searches arguments with LIKE '%…%': seconds at a million rows. This one lists by the date_done index,
filters on status and date only, and searches an exact task name or task id (both indexed).
"""

from django.contrib import admin
from django_celery_results import admin as results_admin  # registers its admin first, so we can replace it
from django_celery_results.models import GroupResult, TaskResult

from core.admin_readonly import ReadOnlyAdminMixin
from core.paginators import EstimatedCountPaginator


class ReadOnly(ReadOnlyAdminMixin):
    """Celery writes its results; people read them (issue 18: no "Add" or "Change" on a task's result)."""


class ReadOnlyGroupResultAdmin(ReadOnly, results_admin.GroupResultAdmin):
    pass


class LeanTaskResultAdmin(ReadOnly, results_admin.TaskResultAdmin):
    date_hierarchy = None
    list_filter = ["status", "date_done"]
    search_fields = ["task_name", "task_id"]
    search_help_text = "An exact task name (e.g. backups.check_rpo) or task id."
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # Two plain equalities, not an OR: each walks its own index, newest first.
        if queryset.filter(task_id=term).exists():
            return queryset.filter(task_id=term), False
        return queryset.filter(task_name=term), False


if admin.site.is_registered(TaskResult):
    admin.site.unregister(TaskResult)
admin.site.register(TaskResult, LeanTaskResultAdmin)
if admin.site.is_registered(GroupResult):
    admin.site.unregister(GroupResult)
admin.site.register(GroupResult, ReadOnlyGroupResultAdmin)
