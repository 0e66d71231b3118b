import os

from django.core.wsgi import get_wsgi_application

from amarise_ops.startup import load_settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amarise_ops.settings")
load_settings_or_exit()
application = get_wsgi_application()
