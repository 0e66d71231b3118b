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
        from core import auth_signals
        from core.dashboard import register_section
        from core.token_dashboard import token_lines

        auth_signals.connect()
        register_section("tokens", order=90, lines=token_lines)
