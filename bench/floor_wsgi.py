"""gunicorn's entry point for the bare floor view (bench.floor_settings)."""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.floor_settings"

from django.core.wsgi import get_wsgi_application  # noqa: E402 - the settings module is chosen first

application = get_wsgi_application()
