from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from core import roles
from core.dashboard import environment_cards, needs_a_person

# The index follows the strategy's sections (environment-strategy.md); apps not named land in the last group.
SECTIONS = [
    ("§1–2 Environments and their data", ["environments", "refreshes"]),
    ("§3 Feature flags", ["flags"]),
    ("§4 Deployments and delivery", ["deployments", "delivery"]),
    ("§5 Rollback and incidents", ["incidents"]),
    ("§6 Database migrations", ["migrations_log"]),
    ("§7 Environment variables and secrets", ["secrets_registry"]),
    ("§8 Monitoring", ["monitoring"]),
    ("§9 Disaster recovery", ["backups"]),
    ("Console: people, tokens, audit, jobs", ["auth", "core", "audit", "django_celery_beat", "django_celery_results"]),
]
# Celery's bookkeeping: shown to the Ops admin role only (others have nothing to do there).
CELERY_INTERNALS = {
    "django_celery_beat.clockedschedule",
    "django_celery_beat.solarschedule",
    "django_celery_beat.intervalschedule",
    "django_celery_beat.crontabschedule",
    "django_celery_results.groupresult",
    "django_celery_results.chordcounter",
}
OPS_ADMIN_ROLE = "Ops admin"


def is_ops_admin(user) -> bool:
    return user.is_superuser or user.groups.filter(name=OPS_ADMIN_ROLE).exists()


def grouped_app_list(app_list, *, show_internals: bool):
    """Django's per-app list regrouped by the strategy's sections, Celery's internals left out unless asked."""
    by_label = {app["app_label"]: app for app in app_list}
    placed, groups = set(), []
    for index, (title, labels) in enumerate(SECTIONS):
        if index == len(SECTIONS) - 1:
            labels = labels + [label for label in by_label if label not in placed and label not in labels]
        models = []
        for label in labels:
            app = by_label.get(label)
            placed.add(label)
            if app is None:
                continue
            for model in app["models"]:
                key = f"{label}.{model['object_name'].lower()}"
                if key in CELERY_INTERNALS and not show_internals:
                    continue
                models.append(model)
        if models:
            first = by_label.get(next(label for label in labels if label in by_label))
            groups.append({**first, "name": title, "app_label": first["app_label"], "models": models,
                           "section": True})  # fmt: skip
    return groups


class OpsAdminSite(admin.AdminSite):
    site_header = "AMARISÉ Ops"
    site_title = "AMARISÉ Ops"
    index_title = "Environments"
    index_template = "admin/ops_index.html"

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if app_label is not None:
            return app_list
        return grouped_app_list(app_list, show_internals=is_ops_admin(request.user))

    def live_context(self):
        return {
            "attention": needs_a_person(),
            "environment_cards": environment_cards(),
            "refreshed_at": timezone.now(),
            "refresh_seconds": getattr(settings, "OPS_DASHBOARD_REFRESH_SECONDS", 15),
        }

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), **self.live_context()}
        return super().index(request, extra_context)

    def live_view(self, request):
        """The top of the index (what needs a person, the cards), re-fetched by the index every few seconds."""
        return TemplateResponse(request, "admin/ops_live.html", {**self.each_context(request), **self.live_context()})

    def get_urls(self):
        return [
            path("roles/", self.admin_view(self.roles_view), name="roles"),
            path("live/", self.admin_view(self.live_view), name="live"),
        ] + super().get_urls()

    def roles_view(self, request):
        """Role × action, from core.roles and from the groups as they are: a hand-edited group shows its drift."""
        if not request.user.has_perm("auth.view_group"):
            raise PermissionDenied
        columns, rows = roles.matrix()
        context = {
            **self.each_context(request),
            "title": "Roles",
            "columns": columns,
            "rows": rows,
            "drift": any(c.drift for c in columns),
        }
        return TemplateResponse(request, "admin/roles.html", context)


class SecretPagesMixin:
    """A model where secrets live says so with `admin_view_needs_one_of = (permissions...)`: its pages are shown
    to a login with the view permission AND one of these (or the change permission), never to a bare viewer.
    The Viewer role reads everything but secrets."""

    def has_view_permission(self, request, obj=None):
        extra = getattr(self.model, "admin_view_needs_one_of", None)
        if extra is None:
            return super().has_view_permission(request, obj)
        if self.has_change_permission(request, obj):
            return True
        user = request.user
        return super().has_view_permission(request, obj) and any(user.has_perm(p) for p in extra)
