"""Vestnik settings: every value comes from the environment (and an optional `.env` file).

`.env.example` lists each variable with a safe value. Nothing secret has a default here.
"""

import os
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# VESTNIK_ENV_FILE names another file, or none when empty: the test suite sets it empty, so a
# developer's .env (written by `make run`, pointing at the emulator) never changes what it tests.
ENV_FILE = os.environ.get("VESTNIK_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: put a long random value in the environment or in .env "
        "(`make run` writes one for local use)."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.admin_site.VestnikAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "notifications",
    "webhooks",
    "outbound",
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RefuseNulInQuery",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.StaffTimeZone",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# SQLite is the embedded default. WAL lets the web process read while a worker writes, and
# IMMEDIATE transactions take the write lock up front instead of failing on upgrade.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # No JIT compiling: it pays off for long analytic scans, not for ours. Our pages read one
    # campaign's rows, but over tens of millions of events the planner's estimates cross
    # jit_above_cost, and each such query spent 80-130 ms compiling to run in about 100.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# django-q2: the database is the truth and the queue only wakes work up, so either broker is
# fine. `retry` must exceed `timeout`, or the ORM broker hands a running task to a second worker.
Q_CLUSTER = {
    "name": "vestnik",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=300),
    "retry": env.int("Q_RETRY", default=360),
    "max_attempts": 1,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 1000,
    # django-q2 names its admin app by this; lazy, so each reader sees it in their language.
    "label": _("Background tasks"),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
if Q_CLUSTER["retry"] <= Q_CLUSTER["timeout"]:
    raise ImproperlyConfigured("Q_RETRY must be larger than Q_TIMEOUT (django-q2 requires it).")

# Exports of lists longer than this are written by a worker, and the person gets the file from
# "Your exports" when it is ready; shorter ones download at once. Files live in EXPORTS_DIR (never
# served directly: only their owner downloads them) for EXPORT_KEEP_HOURS. A job whose worker shows
# no progress for EXPORT_STALE_MINUTES is failed; EXPORT_TIMEOUT_SECONDS is the task's own time
# limit (a million Excel rows take about three minutes), in place of Q_TIMEOUT.
EXPORT_BACKGROUND_ROWS = env.int("EXPORT_BACKGROUND_ROWS", default=50_000)
EXPORTS_DIR = Path(env.str("EXPORTS_DIR", default="") or BASE_DIR / "exports")
EXPORT_KEEP_HOURS = env.int("EXPORT_KEEP_HOURS", default=24)
EXPORT_STALE_MINUTES = env.int("EXPORT_STALE_MINUTES", default=10)
EXPORT_TIMEOUT_SECONDS = env.int("EXPORT_TIMEOUT_SECONDS", default=1800)


def keep_days(name: str, default: int) -> int | None:
    """Days a kind of row is kept (`notifications.campaigns.retention`): None, for ever, when
    the variable is 0 or empty; a sentence naming it when it is anything but a whole number."""
    text = env.str(name, default=str(default)).strip() or "0"
    if not text.isdigit():
        raise ImproperlyConfigured(
            f"{name} must be a whole number of days (0 or empty: keep for ever), not {text!r}."
        )
    return int(text) or None


# Retention: a finished campaign's deliveries and events are removed this many days after it
# finished (its numbers are kept in a summary first), events of no campaign and the SMS webhook
# inbox by their own age, and django-q2's finished tasks by when they stopped: its `save_limit`
# above caps the successes it keeps, but it keeps every failure for ever.
DELIVERIES_KEEP_DAYS = keep_days("DELIVERIES_KEEP_DAYS", 180)
EVENTS_KEEP_DAYS = keep_days("EVENTS_KEEP_DAYS", 180)
WEBHOOK_INBOX_KEEP_DAYS = keep_days("WEBHOOK_INBOX_KEEP_DAYS", 30)
TASKS_KEEP_DAYS = keep_days("TASKS_KEEP_DAYS", 7)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Staff switch language in the admin's header (a cookie), the API follows Accept-Language.
# LANGUAGE_CODE is for whoever has chosen none: a browser asking for neither language, and the
# management commands. Translations live in locale/ (`manage.py translations` refreshes them).
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(
        f"LANGUAGE_CODE must be one of {', '.join(dict(LANGUAGES))}, not {LANGUAGE_CODE!r}."
    )
LOCALE_PATHS = [BASE_DIR / "locale"]
# One way to write a moment per language, on our pages and Django's alike (config/formats/).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
# The send window a new install starts with, in each recipient's local time ("10:00-21:00"), or
# "off". Staff change it afterwards on the Sending rules page; this is only where it begins.
SEND_WINDOW_DEFAULT = env.str("SEND_WINDOW_DEFAULT", default="10:00-21:00").strip()
if SEND_WINDOW_DEFAULT != "off" and not re.fullmatch(
    r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", SEND_WINDOW_DEFAULT
):
    raise ImproperlyConfigured(
        f"SEND_WINDOW_DEFAULT must be like 10:00-21:00, or off, not {SEND_WINDOW_DEFAULT!r}."
    )
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# Behind a TLS-terminating proxy in production; plain HTTP on a laptop.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading binds the operator's whole domain to HTTPS for good: their call, not a default.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# A webhook secret may arrive in a URL (`?token=`), and request lines are logged whole: every
# handler redacts it. runserver's request lines (`django.server`) get Django's own look, through
# a handler of ours, because Django's has no filter. gunicorn's logs: config/gunicorn.conf.py.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"url_secrets": {"()": "webhooks.redaction.UrlSecretFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["url_secrets"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["url_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Where errors from the domain (a refused transition, invalid input) become HTTP answers.
    "EXCEPTION_HANDLER": "notifications.api.errors.exception_handler",
    # JSON only: requests carry nested documents, which forms cannot express, and the schema
    # advertises exactly the media types these parsers accept (others get 415).
    "DEFAULT_PARSER_CLASSES": ["notifications.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "notifications.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Requests per API key (or staff user); the cache counts them, so with REDIS_URL every
    # web process shares the count.
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("API_THROTTLE_RATE", default="1200/m")},
}

# The REST API (/api/): page sizes, the largest batch one request may carry, and how long an
# Idempotency-Key's first answer is replayed.
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=100)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=1000)
API_MAX_BATCH = env.int("API_MAX_BATCH", default=1000)
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)

# OpenAPI schema and docs; the Swagger UI files are served by us (sidecar), so no CDN is needed.
SPECTACULAR_SETTINGS = {
    "TITLE": "Vestnik API",
    "DESCRIPTION": (
        "Recipients, templates, campaigns, transactional messages, deliveries and events. "
        "Authenticate with `Authorization: Api-Key <key>` (`manage.py create_api_key`)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["notifications.api.schema.api_endpoints_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "notifications.api.schema.document_error_answers",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "notifications.models.Campaign.Status",
        "DeliveryStatusEnum": "notifications.models.Delivery.Status",
    },
}

# Rendering: caps that keep an untrusted template author from exhausting a worker.
VESTNIK_RENDER_MAX_OUTPUT = env.int("VESTNIK_RENDER_MAX_OUTPUT", default=20_000)
VESTNIK_RENDER_MAX_LOOP_ITERATIONS = env.int("VESTNIK_RENDER_MAX_LOOP_ITERATIONS", default=1_000)
VESTNIK_RENDER_MAX_SECONDS = env.float("VESTNIK_RENDER_MAX_SECONDS", default=0.2)

# Dispatch. Attempts and backoff for transient provider errors; the circuit breaker pauses a
# campaign after this many whole requests failed in a row.
VESTNIK_MAX_ATTEMPTS = env.int("VESTNIK_MAX_ATTEMPTS", default=5)
VESTNIK_RETRY_BASE_SECONDS = env.float("VESTNIK_RETRY_BASE_SECONDS", default=30)
VESTNIK_RETRY_MAX_SECONDS = env.float("VESTNIK_RETRY_MAX_SECONDS", default=3600)
VESTNIK_BREAKER_THRESHOLD = env.int("VESTNIK_BREAKER_THRESHOLD", default=10)
# Send loops started per campaign (never more than the provider's parallel cap).
VESTNIK_SEND_CONCURRENCY = env.int("VESTNIK_SEND_CONCURRENCY", default=2)
# How long a claim on deliveries lasts unless its sender renews it (every third of it, while it
# works). A dead worker's deliveries are back in play this long after it died, plus up to half a
# minute when no other sender of the campaign survived it (the tick's next run): under 60 s.
VESTNIK_CLAIM_LEASE_SECONDS = env.float("VESTNIK_CLAIM_LEASE_SECONDS", default=25)
# A running campaign whose worker has not been seen this long gets a new one from the tick. A
# live sender is seen at every renewal, and at least once per request (up to connect + read).
VESTNIK_WORKER_STALE_SECONDS = env.int("VESTNIK_WORKER_STALE_SECONDS", default=60)
# Off only for benchmarks against the emulator: providers' limits are real.
VESTNIK_RATE_LIMITS_ENABLED = env.bool("VESTNIK_RATE_LIMITS_ENABLED", default=True)
# Requests are spaced this fraction wider than a provider's rate, so jitter never crosses it.
VESTNIK_RATE_SAFETY_MARGIN = env.float("VESTNIK_RATE_SAFETY_MARGIN", default=0.02)

# Providers. A provider whose settings are missing is "not configured" and cannot be dispatched to.
PROVIDER_CONNECT_TIMEOUT = env.float("PROVIDER_CONNECT_TIMEOUT", default=5)
PROVIDER_READ_TIMEOUT = env.float("PROVIDER_READ_TIMEOUT", default=30)
IMSHOP_PUSH_URL = env.str("IMSHOP_PUSH_URL", default="")
IMSHOP_API_KEY = env.str("IMSHOP_API_KEY", default="")
LEADCONVERTER_API_URL = env.str("LEADCONVERTER_API_URL", default="https://leadconverter.ru/api/v1")
LEADCONVERTER_TOKEN = env.str("LEADCONVERTER_TOKEN", default="")
YANDEX_MARKET_API_URL = env.str(
    "YANDEX_MARKET_API_URL", default="https://api.partner.market.yandex.ru"
)
YANDEX_MARKET_API_KEY = env.str("YANDEX_MARKET_API_KEY", default="")
YANDEX_MARKET_BUSINESS_ID = env.str("YANDEX_MARKET_BUSINESS_ID", default="")
BITRIX24_PORTAL_URL = env.str("BITRIX24_PORTAL_URL", default="")
BITRIX24_CLIENT_ID = env.str("BITRIX24_CLIENT_ID", default="")
BITRIX24_CLIENT_SECRET = env.str("BITRIX24_CLIENT_SECRET", default="")
BITRIX24_OAUTH_URL = env.str("BITRIX24_OAUTH_URL", default="https://oauth.bitrix.info")

# Provider limits (docs/providers.md): empty means the vendor's published limit.
IMSHOP_RATE = env.str("IMSHOP_RATE", default="")
IMSHOP_BURST = env.str("IMSHOP_BURST", default="")
IMSHOP_PARALLEL = env.str("IMSHOP_PARALLEL", default="")
IMSHOP_BATCH_SIZE = env.str("IMSHOP_BATCH_SIZE", default="")
LEADCONVERTER_RATE = env.str("LEADCONVERTER_RATE", default="")
LEADCONVERTER_BURST = env.str("LEADCONVERTER_BURST", default="")
LEADCONVERTER_PARALLEL = env.str("LEADCONVERTER_PARALLEL", default="")
LEADCONVERTER_BATCH_SIZE = env.str("LEADCONVERTER_BATCH_SIZE", default="")
YANDEX_MARKET_RATE = env.str("YANDEX_MARKET_RATE", default="")
YANDEX_MARKET_BURST = env.str("YANDEX_MARKET_BURST", default="")
YANDEX_MARKET_PARALLEL = env.str("YANDEX_MARKET_PARALLEL", default="")
BITRIX24_RATE = env.str("BITRIX24_RATE", default="")
BITRIX24_BURST = env.str("BITRIX24_BURST", default="")
BITRIX24_PARALLEL = env.str("BITRIX24_PARALLEL", default="")
BITRIX24_BATCH_SIZE = env.str("BITRIX24_BATCH_SIZE", default="")

# Inbound SMS callbacks: a comma-separated list so a secret can be rotated.
SMS_WEBHOOK_SECRETS = env.list("SMS_WEBHOOK_SECRETS", default=[])
# Larger bodies get 413; Sendios sends a few events per request.
SMS_WEBHOOK_MAX_BODY_BYTES = env.int("SMS_WEBHOOK_MAX_BODY_BYTES", default=1_048_576)

# Outbound webhooks (the `outbound` app): networks an endpoint may reach although private or
# loopback (CIDRs, comma-separated; none by default: no SSRF through our own sender), seconds
# a request may take, events per request, requests at once, the retry schedule (doubling from
# the base up to the max, for RETRY_SECONDS after the first attempt) and how long an endpoint
# may fail without one success before it is disabled.
OUTBOUND_WEBHOOK_ALLOWED_NETWORKS = env.list("OUTBOUND_WEBHOOK_ALLOWED_NETWORKS", default=[])
OUTBOUND_WEBHOOK_TIMEOUT = env.float("OUTBOUND_WEBHOOK_TIMEOUT", default=10)
OUTBOUND_WEBHOOK_BATCH = env.int("OUTBOUND_WEBHOOK_BATCH", default=100)
OUTBOUND_WEBHOOK_CONCURRENCY = env.int("OUTBOUND_WEBHOOK_CONCURRENCY", default=8)
OUTBOUND_WEBHOOK_RETRY_BASE_SECONDS = env.float("OUTBOUND_WEBHOOK_RETRY_BASE_SECONDS", default=10)
OUTBOUND_WEBHOOK_RETRY_MAX_SECONDS = env.float("OUTBOUND_WEBHOOK_RETRY_MAX_SECONDS", default=3600)
OUTBOUND_WEBHOOK_RETRY_SECONDS = env.float("OUTBOUND_WEBHOOK_RETRY_SECONDS", default=86400)
OUTBOUND_WEBHOOK_DISABLE_SECONDS = env.float("OUTBOUND_WEBHOOK_DISABLE_SECONDS", default=86400)
