from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.contrib.admin import checks as admin_checks
from django.core import checks

from core import lazy_timezones

# Django imports every app's apps.py before any models module, so beat's CrontabSchedule is defined lazily.
lazy_timezones.install()


class OpsAdminConfig(admin_apps.SimpleAdminConfig):
    """Django's admin, finding the apps' admin modules when the URLconf loads (amarise_ops/urls.py) or the system
    checks run, not in every command and worker: they import import-export, the admin forms
    and the dashboards, about 7 % of start-up that a `backup_status` or a Celery worker never uses (issue 19)."""

    default_site = "core.admin_site.OpsAdminSite"

    def ready(self):
        checks.register(admin_checks.check_dependencies, checks.Tags.admin)
        checks.register(check_admin_after_discovery, checks.Tags.admin)


def check_admin_after_discovery(app_configs, **kwargs):
    """Django's admin checks over every ModelAdmin, even where no page has loaded the URLconf yet."""
    from django.contrib import admin

    admin.autodiscover()
    return admin_checks.check_admin_app(app_configs)


class CoreConfig(AppConfig):
    default = True
    name = "core"
    verbose_name = "Console"

    def ready(self):
        from celery.signals import before_task_publish

        from core import auth_signals
        from core.caller import bind_commands
        from core.dashboard import register_section
        from core.task_base import stamp_queued_by
        from core.token_dashboard import token_lines

        auth_signals.connect()
        register_section("tokens", order=90, lines=token_lines)
        bind_commands()
        before_task_publish.connect(stamp_queued_by, dispatch_uid="ops_queued_by")
