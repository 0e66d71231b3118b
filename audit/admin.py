"""The audit log in the admin: searchable, filterable, read-only for everyone, exported as CSV."""

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.urls import path

from audit.models import AuditEntry
from core.admin_readonly import ReadOnlyAdminMixin

CSV_FIELDS = ["at", "actor_label", "via", "token_prefix", "session", "ip", "content_type", "object_id",
              "object_repr", "action", "changes"]  # fmt: skip


class ActionKindFilter(admin.SimpleListFilter):
    title = "action"
    parameter_name = "kind"
    KINDS = {"create": "create", "update": "update", "delete": "delete", "status": "status:"}

    def lookups(self, request, model_admin):
        return [(k, "status change" if k == "status" else k) for k in self.KINDS]

    def queryset(self, request, queryset):
        prefix = self.KINDS.get(self.value() or "")
        return queryset.filter(action__startswith=prefix) if prefix else queryset


def _cell(value):
    # A leading =, +, - or @ would run as a formula in a spreadsheet.
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


class _Echo:
    def write(self, value):
        return value


def csv_rows(queryset):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_FIELDS)
    for entry in queryset.select_related("content_type").order_by("at", "pk").iterator(chunk_size=2000):
        yield writer.writerow([_cell(entry.content_type.model if f == "content_type" else getattr(entry, f))
                               for f in CSV_FIELDS])  # fmt: skip


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Read-only for everyone, superusers included: the log is written by audit.recorder only.
    list_display = ["at", "actor_label", "via", "action", "content_type", "object_repr", "ip", "token_prefix"]
    list_filter = ["via", ActionKindFilter, ("at", admin.DateFieldListFilter), "content_type"]
    search_fields = ["actor_label", "object_repr", "object_id", "ip", "token_prefix", "via", "action"]
    date_hierarchy = "at"
    list_select_related = ["content_type"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    change_list_template = "admin/audit/auditentry/change_list.html"
    actions = None

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("export.csv", wrap(self.export_view), name="audit_auditentry_export"), *super().get_urls()]

    def export_view(self, request):
        """The changelist's rows as CSV, with its search and filters applied."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        queryset = self.get_changelist_instance(request).get_queryset(request)
        response = StreamingHttpResponse(csv_rows(queryset), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        return response
