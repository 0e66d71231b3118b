"""Settings for the AMARISÉ Ops Console, read from the environment (12-factor).

With nothing set the console runs on an embedded default: SQLite in WAL mode,
Celery's filesystem broker and a file cache, all under VAR_DIR. Production
(DEBUG=false) must name SECRET_KEY and ALLOWED_HOSTS. Every variable is listed
in the README.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from amarise_ops import config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = Path(env.str("OPS_ENV_FILE", default=str(BASE_DIR / ".env")))
if _env_file.is_file():
    env.read_env(str(_env_file), overwrite=False)

DEBUG = config.env_bool(env, "DEBUG", default=True)
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    SECRET_KEY = config.require(env, "SECRET_KEY", "production (DEBUG=false) needs a long random SECRET_KEY")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY is too short for production: use 50 or more random characters")
    ALLOWED_HOSTS = config.require_list(env, "ALLOWED_HOSTS", "production (DEBUG=false) needs ALLOWED_HOSTS")

SITE_URL = config.url(env, "SITE_URL", default="http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    # First, so its admin templates override Django's.
    "core",
    "core.apps.OpsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "django_celery_results",
    "import_export",
    "simple_history",
    "environments",
    "flags",
    "deployments",
    "incidents",
    "migrations_log",
    "backups",
    "refreshes",
    "delivery",
    "monitoring",
    "secrets_registry",
    "retention",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside CSRF and the views: every answer on an API path is JSON, bad bodies a 4xx naming the problem.
    "core.http.ApiErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.caller.CallerMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "amarise_ops.urls"
WSGI_APPLICATION = "amarise_ops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {"default": config.database(env, VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery broker ----------------------------------------------------
REDIS_URL = config.redis_url(env)
# Connect and read timeout of every Redis client: a Redis that accepts and never answers must not hang a worker.
OPS_REDIS_TIMEOUT = env.float("OPS_REDIS_TIMEOUT", default=0.5)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": config.redis_client_options(OPS_REDIS_TIMEOUT),
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task not acked within this window is redelivered; longer than any task we run.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60),
        "socket_timeout": OPS_REDIS_TIMEOUT,
        "socket_connect_timeout": OPS_REDIS_TIMEOUT,
    }
    CELERY_REDIS_SOCKET_TIMEOUT = OPS_REDIS_TIMEOUT  # a Redis result backend, if one is ever configured
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = OPS_REDIS_TIMEOUT
else:
    # Shared by web, worker and beat on one machine, unlike a per-process LocMemCache.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = config.filesystem_broker_options(VAR_DIR)

CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=55 * 60)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = config.env_bool(env, "CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Auth, i18n, static ---------------------------------------------------------
# django-import-export lets any staff login import unless told otherwise: importing needs the change permission,
# exporting the view permission (core.imports.ImportPermissionMixin narrows it per admin).
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = config.time_zone(env, "TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
LOGIN_URL = "admin:login"

# --- Email ------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = config.env_bool(env, "EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ops-console@amarise.invalid")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security (production) -----------------------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = config.env_bool(env, "SECURE_SSL_REDIRECT", default=not DEBUG)
# The load balancer probes /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# X-Forwarded-Proto is trusted only behind a proxy that sets it; otherwise any client could claim https.
OPS_BEHIND_PROXY = config.env_bool(env, "OPS_BEHIND_PROXY", default=False)
if OPS_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# --- Logging -------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # botocore at DEBUG logs request bodies, which hold secret values: never below WARNING.
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "botocore": {"level": "WARNING"},
        "boto3": {"level": "WARNING"},
    },
}

# --- Console settings (OPS_ prefix) -----------------------------------------------------
OPS_HEALTH_CHECK_TIMEOUT = env.float("OPS_HEALTH_CHECK_TIMEOUT", default=5.0)
# /healthz answers within this many seconds whatever hangs, naming the checks that did not answer.
OPS_HEALTHZ_DEADLINE = env.float("OPS_HEALTHZ_DEADLINE", default=1.5)
OPS_HEALTH_CHECK_INTERVAL = env.int("OPS_HEALTH_CHECK_INTERVAL", default=60)
OPS_HEALTH_CHECK_HISTORY = env.int("OPS_HEALTH_CHECK_HISTORY", default=500)
OPS_FLAGS_CACHE_TTL = env.int("OPS_FLAGS_CACHE_TTL", default=300)
OPS_FLAGS_PRODUCTION_CHANGE_REQUESTS = config.env_bool(env, "OPS_FLAGS_PRODUCTION_CHANGE_REQUESTS", default=True)
OPS_FLAGS_STALE_DAYS = env.int("OPS_FLAGS_STALE_DAYS", default=30)
OPS_FLAGS_SCHEDULE_INTERVAL = env.int("OPS_FLAGS_SCHEDULE_INTERVAL", default=30)
OPS_BACKUPS_RPO_CHECK_INTERVAL = env.int("OPS_BACKUPS_RPO_CHECK_INTERVAL", default=60)
OPS_BACKUPS_RECONCILE_INTERVAL = env.int("OPS_BACKUPS_RECONCILE_INTERVAL", default=60)
OPS_BACKUPS_STALE_AFTER = env.int("OPS_BACKUPS_STALE_AFTER", default=300)
OPS_BACKUPS_PGBACKREST = env.str("OPS_BACKUPS_PGBACKREST", default="/usr/bin/pgbackrest")
OPS_BACKUPS_COMMAND_TIMEOUT = env.int("OPS_BACKUPS_COMMAND_TIMEOUT", default=6 * 60 * 60)
OPS_BACKUPS_DRILL_START_TIMEOUT = env.int("OPS_BACKUPS_DRILL_START_TIMEOUT", default=15 * 60)
OPS_MIGRATIONS_SQUAWK = env.str("OPS_MIGRATIONS_SQUAWK", default="")
OPS_MIGRATIONS_SLOW_FACTOR = env.float("OPS_MIGRATIONS_SLOW_FACTOR", default=2.0)
OPS_REFRESHES_DATABASE_PREFIX = env.str("OPS_REFRESHES_DATABASE_PREFIX", default="amarise_ops_refreshes_")
OPS_REFRESHES_MASK_PARALLEL = env.int("OPS_REFRESHES_MASK_PARALLEL", default=2)
OPS_MONITORING_PROMETHEUS_URL = env.str("OPS_MONITORING_PROMETHEUS_URL", default="")
OPS_MONITORING_ALERTMANAGER_URL = env.str("OPS_MONITORING_ALERTMANAGER_URL", default="")
OPS_MONITORING_WEBHOOK_TOKEN = env.str("OPS_MONITORING_WEBHOOK_TOKEN", default="")
OPS_MONITORING_WEBHOOK_URL = env.str("OPS_MONITORING_WEBHOOK_URL", default="")
OPS_MONITORING_CONFIG_DIR = env.str("OPS_MONITORING_CONFIG_DIR", default="")
OPS_MONITORING_PROMTOOL = env.str("OPS_MONITORING_PROMTOOL", default="/usr/bin/promtool")
OPS_MONITORING_AMTOOL = env.str("OPS_MONITORING_AMTOOL", default="/usr/bin/amtool")
OPS_MONITORING_SCRAPE_INTERVAL = env.str("OPS_MONITORING_SCRAPE_INTERVAL", default="15s")
OPS_MONITORING_EVALUATION_INTERVAL = env.str("OPS_MONITORING_EVALUATION_INTERVAL", default="15s")
OPS_MONITORING_GROUP_WAIT = env.str("OPS_MONITORING_GROUP_WAIT", default="30s")
OPS_MONITORING_GROUP_INTERVAL = env.str("OPS_MONITORING_GROUP_INTERVAL", default="5m")
OPS_MONITORING_REPEAT_INTERVAL = env.str("OPS_MONITORING_REPEAT_INTERVAL", default="4h")
OPS_MONITORING_NOTIFY_RETRIES = env.int("OPS_MONITORING_NOTIFY_RETRIES", default=3)
OPS_MONITORING_NOTIFY_RETRY_SECONDS = env.float("OPS_MONITORING_NOTIFY_RETRY_SECONDS", default=30.0)
OPS_MONITORING_SILENCE_SYNC_INTERVAL = env.int("OPS_MONITORING_SILENCE_SYNC_INTERVAL", default=60)
OPS_MONITORING_APPLY_INTERVAL = env.int("OPS_MONITORING_APPLY_INTERVAL", default=300)
OPS_MONITORING_TIMEOUT = env.float("OPS_MONITORING_TIMEOUT", default=5.0)
OPS_SECRETS_DRIVER = env.str("OPS_SECRETS_DRIVER", default="aws")
OPS_SECRETS_ENDPOINT_URL = env.str("OPS_SECRETS_ENDPOINT_URL", default="")
OPS_SECRETS_REGION = env.str("OPS_SECRETS_REGION", default="eu-west-1")
OPS_SECRETS_DR_REGION = env.str("OPS_SECRETS_DR_REGION", default="eu-central-1")
OPS_SECRETS_ACCOUNT_ID = env.str("OPS_SECRETS_ACCOUNT_ID", default="")
OPS_SECRETS_ROTATION_DAYS = env.int("OPS_SECRETS_ROTATION_DAYS", default=90)
OPS_SECRETS_STALE_AFTER = env.int("OPS_SECRETS_STALE_AFTER", default=300)
