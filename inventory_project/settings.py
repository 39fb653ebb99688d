"""Settings, read from the environment only (see README "Configuration")."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from core.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def dev_secret_key(path: Path) -> str:
    """This checkout's own development key: generated on first use into a git-ignored file, never committed."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    candidate = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    candidate.write_text(secrets.token_urlsafe(50))
    candidate.chmod(0o600)
    try:
        os.link(candidate, path)  # atomic: two processes starting at once end up with the same key
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return path.read_text().strip()


# Development convenience is never the production default: DEBUG is off unless set (the dev command
# sets it), and no key committed to the repository ever signs sessions or JWTs.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or (dev_secret_key(BASE_DIR / ".secret_key") if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "corsheaders",
    "django_prometheus",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",  # before django_tasks_db: its `db_worker` command (reconnects after a database restart) wins
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "warehouses",
    "inventory",
    "workflows",
    "dashboards",
    "reports",
    "demo",
    "webhooks",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # request rate, latency, status per view
    # Outermost: answers CORS preflights and adds its headers to every final API answer, errors included.
    "corsheaders.middleware.CorsMiddleware",
    "core.middleware.RequestLogMiddleware",  # the request id and the one log line per request
    "core.middleware.ApiJsonErrorsMiddleware",  # it sees the others' error pages too
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.metrics.QueryCountMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "inventory_project.urls"
WSGI_APPLICATION = "inventory_project.wsgi.application"

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

# A persistent connection (DB_CONN_MAX_AGE > 0) is checked before its first use in each request (and
# each worker poll): one that a database restart or failover ended is replaced instead of answering a 500
# (docs/DECISIONS.md, "Surviving a database restart").
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite: wait for a writer instead of failing at once with "database is locked".
    # IMMEDIATE transactions take the write lock up front, so two read-modify-write transactions
    # queue instead of deadlocking (SQLite has no row locks; select_for_update is a no-op there).
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
# A streaming replica (PostgreSQL hot standby), optional: dashboards, reports and exports read from it
# inside `core.db_router.replica_reads()`; every write, lock and other read stays on the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(os.environ["DATABASE_REPLICA_URL"],
                                                 conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
                                                 conn_health_checks=True)
    # Tests: no separate test database for the replica; it mirrors the primary's.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["core.db_router.PrimaryReplicaRouter"]

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = os.environ.get("MEDIA_ROOT") or str(BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- E-mail -------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "inventory@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Low-stock alert e-mails: retries with exponential back-off, then the alert is marked failed.
LOW_STOCK_EMAIL_MAX_ATTEMPTS = env_int("LOW_STOCK_EMAIL_MAX_ATTEMPTS", 6)
LOW_STOCK_EMAIL_RETRY_BASE_SECONDS = env_int("LOW_STOCK_EMAIL_RETRY_BASE_SECONDS", 30)
LOW_STOCK_EMAIL_RETRY_MAX_SECONDS = env_int("LOW_STOCK_EMAIL_RETRY_MAX_SECONDS", 1800)
# A claimed attempt older than this belongs to a dead worker and is taken over (above EMAIL_TIMEOUT × round trips).
LOW_STOCK_EMAIL_LEASE_SECONDS = env_int("LOW_STOCK_EMAIL_LEASE_SECONDS", 300)
# Lots (SPEC §14): an expiry alert opens while a warehouse holds units of a lot expiring within this many days.
EXPIRY_WARNING_DAYS = env_int("EXPIRY_WARNING_DAYS", 30)
# Imports (PostgreSQL): how long one may wait for a row lock, and run one statement, before a 409 `conflict`.
IMPORT_LOCK_TIMEOUT_MS = env_int("IMPORT_LOCK_TIMEOUT_MS", 5000)
IMPORT_STATEMENT_TIMEOUT_MS = env_int("IMPORT_STATEMENT_TIMEOUT_MS", 60000)
# How long a password-reset link works, in seconds (Django's default is three days; SPEC §3 says one hour).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600)
# Prefix for links in e-mails, e.g. https://inventory.example.com (empty: relative paths).
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")

# Webhooks (SPEC §16). Deliveries go over https, except to these hosts (comma-separated); never into
# private, loopback, link-local, multicast or reserved networks unless WEBHOOK_ALLOW_PRIVATE_NETWORKS.
WEBHOOK_ALLOW_HTTP_HOSTS = env_list("WEBHOOK_ALLOW_HTTP_HOSTS", "")
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 14)
WEBHOOK_DISABLE_AFTER_HOURS = env_int("WEBHOOK_DISABLE_AFTER_HOURS", 72)
# Fernet keys (comma-separated; the first encrypts, all decrypt) for the signing secrets at rest. Required
# to create an endpoint when DEBUG is off; with DEBUG on a development key is derived from SECRET_KEY.
WEBHOOK_ENCRYPTION_KEYS = env_list("WEBHOOK_ENCRYPTION_KEYS", "")
# A claimed delivery attempt older than this belongs to a dead worker and is taken over (above the 10 s timeout).
WEBHOOK_LEASE_SECONDS = env_int("WEBHOOK_LEASE_SECONDS", 120)
# The worker looks for undelivered events at least this often (a wake-up lost after a commit).
WEBHOOK_SWEEP_SECONDS = env_int("WEBHOOK_SWEEP_SECONDS", 60)

# --- Background tasks (Django's task API, database backend) ---------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Cache (the throttles' counters) ---------------------------------------------------------------
# Shared by every worker process, so a THROTTLE_* rate is global and not per gunicorn worker: Redis when
# REDIS_URL is set, else the database (its table is created by core's migrations, see core/migrations).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"}}
# Several deployments (or test runs) sharing one Redis keep apart by prefix.
CACHES["default"]["KEY_PREFIX"] = os.environ.get("CACHE_KEY_PREFIX", "")

# --- API ------------------------------------------------------------------------------------------
THROTTLE_AUTH = os.environ.get("THROTTLE_AUTH", "20/minute")
THROTTLE_USER = os.environ.get("THROTTLE_USER", "1000/minute")
# Reverse proxies in front of the server that append to X-Forwarded-For. 0: the client's address is the
# peer's (REMOTE_ADDR) and X-Forwarded-For, which any client can write, is ignored.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more")
# A multipart body (the only kind that may carry a file) larger than this is refused before it is read.
UPLOAD_MAX_BYTES = 3 * 1024 * 1024
# The CSV imports take a file of up to 5 MiB (SPEC §13); their multipart body may carry a little more.
IMPORT_UPLOAD_MAX_BYTES = 5 * 1024 * 1024 + 64 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ActiveUserJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsActiveUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only (SPEC §8); a view that takes a file adds core.parsers.MultiPartParser itself.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.UserWriteThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user_write": THROTTLE_USER, "auth": THROTTLE_AUTH, "auth_username": THROTTLE_AUTH},
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "EXCEPTION_HANDLER": "core.handlers.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": None,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Tokens carry a digest of the password hash; accounts.authentication refuses them once it changes.
    "CHECK_REVOKE_TOKEN": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Inventory & warehouse management API",
    "DESCRIPTION": "Multi-warehouse inventory with an immutable stock ledger and approval workflows.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.apply_schema_rules",
        "core.schema.bound_path_ids",
        "core.schema.document_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RequestStatusEnum": "core.decisions.RequestStatus",
        "UserStatusEnum": "accounts.models.User.Status",
        "AlertStatusEnum": "inventory.models.LowStockAlert.Status",
        "TransferStatusEnum": "workflows.models.TransferStatus",
        "TransferModeEnum": "workflows.models.TransferMode",
    },
}

# --- Production hardening (active when DEBUG is off) ----------------------------------------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# --- Metrics (Prometheus; see core/metrics.py and docs/DEPLOY.md) --------------------------------------
METRICS_ENABLED = env_bool("METRICS_ENABLED", False)
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "")
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- CORS: browser front-ends served from another origin (django-cors-headers) ------------------------
# Empty by default: same origin only. The API authenticates with a bearer token, never a cookie, so no
# credentials are allowed cross-origin; the Django admin (cookies) is never opened to other origins.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "idempotency-key", "x-request-id")
CORS_EXPOSE_HEADERS = ("Idempotent-Replayed", "Content-Disposition", "Retry-After")
CORS_ALLOW_CREDENTIALS = False
CORS_PREFLIGHT_MAX_AGE = 600
# Trust X-Forwarded-Proto only when a proxy that always sets it (and drops the client's) is in front:
# otherwise any client could claim HTTPS.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = logging_config(fmt=os.environ.get("LOG_FORMAT", "plain"), level=os.environ.get("LOG_LEVEL", "INFO"))
