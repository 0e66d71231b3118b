from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OpsAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "core.admin_site.OpsAdminSite"


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
