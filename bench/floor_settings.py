"""The floor of the flags API: a bare Django JSON view with no middleware and no apps, in its own settings.

`make bench` serves it with gunicorn (`bench.floor_wsgi:application`) next to the console, so each console
endpoint is printed as a ratio to what Django itself costs. The document is production's, hard-coded: the
bench checks it against the console's own answer before measuring, so both send the same bytes' worth.
"""

from django.http import JsonResponse
from django.urls import path

DEBUG = False
SECRET_KEY = "bench-floor-not-a-secret-" + "x" * 40  # noqa: S105 - serves a constant, signs nothing
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = []
MIDDLEWARE = []
ROOT_URLCONF = __name__
USE_TZ = True
DATABASES = {}
LOGGING_CONFIG = None

# Production's 19 flags as the strategy plans them, in the order the console's document lists them.
DOCUMENT = {
    "environment": "production",
    "flags": {
        "aiRecommendations": False,
        "animations": False,
        "arTryOn": False,
        "browseByMood": False,
        "browseByRitual": True,
        "checkoutEnabled": True,
        "darkMode": False,
        "guestCheckout": False,
        "journal": True,
        "launchCountdown": False,
        "liveChat": False,
        "lookbook": False,
        "preOrders": False,
        "recentlyViewed": False,
        "relatedProducts": False,
        "reviews": False,
        "stockIndicator": False,
        "stories": False,
        "wishlist": True,
    },
    "version": "1000.100",
}


def flag_document(request):
    return JsonResponse(DOCUMENT)


urlpatterns = [path("api/flags/production/", flag_document)]
