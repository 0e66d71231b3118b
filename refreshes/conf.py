"""Settings of the refreshes app, each with its default. Secrets are named here, never held."""

from django.conf import settings

# Every database the console creates starts with this, so it never touches anyone else's.
DATABASE_PREFIX = getattr(settings, "OPS_REFRESHES_DATABASE_PREFIX", "amarise_ops_refreshes_")
# The process variable holding the HMAC key of the masking (the key itself is never stored).
MASKING_KEY_VAR = getattr(settings, "OPS_REFRESHES_MASKING_KEY_VAR", "OPS_MASKING_KEY")
MASKING_KEY_MIN_LENGTH = getattr(settings, "OPS_REFRESHES_MASKING_KEY_MIN_LENGTH", 16)
# Production values shorter than this are left out of the leak scan: they collide with ordinary data.
LEAK_MIN_LENGTH = getattr(settings, "OPS_REFRESHES_LEAK_MIN_LENGTH", 5)
# Rows per table kept as the masked preview shown in the admin.
PREVIEW_ROWS = getattr(settings, "OPS_REFRESHES_PREVIEW_ROWS", 5)
CONNECT_TIMEOUT = getattr(settings, "OPS_REFRESHES_CONNECT_TIMEOUT", 10)
# Tables masked at once, each on its own connection to the scratch database (the server's cores, at most).
MASK_PARALLEL = getattr(settings, "OPS_REFRESHES_MASK_PARALLEL", 2)
# A pending or running run with no step started or finished for this long is stale: its worker is gone, and it may
# be resumed. Before that, a resume is refused (a second copy step would drop the scratch database in use).
STALE_AFTER_MINUTES = getattr(settings, "OPS_REFRESHES_STALE_AFTER_MINUTES", 60)
