"""Imports behind permissions: django-import-export lets any staff login import unless told otherwise.

An admin that imports names the permissions an import needs (`import_permissions`, by default the model's add
and change permissions); without them the import pages refuse with a message and read no file. What each row
does is still checked row by row by the service the resource calls, so a file cannot do more than a click.
"""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse


def default_import_permissions(opts) -> tuple[str, ...]:
    return (f"{opts.app_label}.add_{opts.model_name}", f"{opts.app_label}.change_{opts.model_name}")


class ImportPermissionMixin:
    import_permissions: tuple[str, ...] = ()

    def get_import_permissions(self) -> tuple[str, ...]:
        return tuple(self.import_permissions) or default_import_permissions(self.opts)

    def has_import_permission(self, request):
        return request.user.has_perms(self.get_import_permissions())

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def _refuse_import(self, request):
        missing = [p for p in self.get_import_permissions() if not request.user.has_perm(p)]
        self.message_user(
            request,
            f"You may not import {self.opts.verbose_name_plural}: it needs the permission(s) {', '.join(missing)}. "
            "Nothing was imported.",
            messages.ERROR,
        )
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))

    def import_action(self, request, **kwargs):
        if not self.has_import_permission(request):
            return self._refuse_import(request)
        return super().import_action(request, **kwargs)

    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            return self._refuse_import(request)
        return super().process_import(request, **kwargs)
