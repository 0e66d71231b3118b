import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from amarise_ops.startup import load_settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amarise_ops.settings")
load_settings_or_exit()
django_application = get_wsgi_application()
# A web process loads the URLconf, and with it the admin's modules, when it starts, not on its first request.
get_resolver(settings.ROOT_URLCONF).url_patterns  # noqa: B018

# Warm flag reads (the storefront's document GET, one flag, OFREP) are answered in front of Django's middleware,
# with bytes prepared when the document changed; everything else, and every error answer, is Django's.
from flags.lean import LeanFlagsApp  # noqa: E402 - needs the apps loaded by get_wsgi_application()

application = LeanFlagsApp(django_application)
