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
        from core.caller import bind_commands

        bind_commands()
