from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "flags"
    verbose_name = "Feature flags"

    def ready(self):
        from core.dashboard import register_section
        from flags import checklist, signals
        from flags.dashboard import flag_lines

        signals.connect()
        checklist.register()
        register_section("flags", order=10, lines=flag_lines)
