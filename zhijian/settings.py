"""Zhijian settings: one module, fed by environment variables (see docs/architecture.md)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ZHIJIAN_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATA_DIR = Path(os.environ.get("ZHIJIAN_DATA_DIR", BASE_DIR / "data"))


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    key = os.environ.get("ZHIJIAN_SECRET_KEY")
    if key:
        return key
    # Generated once per installation, never committed.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("ZHIJIAN_DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("ZHIJIAN_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("ZHIJIAN_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "zhijian.org.adminconfig.AdminSiteConfig",  # django.contrib.admin with the role-based site (org.admin_site)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "zhijian.core",
    "zhijian.org",
    "zhijian.security",
    "zhijian.geo",
    "zhijian.entities",
    "zhijian.deadlines",
    "zhijian.supervision",
    "zhijian.clues",
    "zhijian.coordination",
    "zhijian.grid",
    "zhijian.draws",
    "zhijian.inspections",
    "zhijian.mobile",
    "zhijian.analytics",
    "zhijian.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "zhijian.security.middleware.SecurityHeadersMiddleware",
    "zhijian.security.middleware.RequestSizeLimitMiddleware",
    "zhijian.security.ratelimit.RateLimitMiddleware",  # public pages: 429 before any work (RATE_LIMITS)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "zhijian.core.text.ControlCharacterMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "zhijian.security.middleware.RequestContextMiddleware",
    "zhijian.security.middleware.SessionTimeoutMiddleware",
    "zhijian.security.middleware.OTPRequiredMiddleware",
    "zhijian.security.middleware.PasswordExpiryMiddleware",
    "zhijian.security.middleware.AuditMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "zhijian.urls"
WSGI_APPLICATION = "zhijian.wsgi.application"
AUTH_USER_MODEL = "org.User"
LOGIN_URL = "login"
# Sign-in: Django's model backend. Admin-site permissions of the three administrators come from
# their roles (security.roles.ADMIN_MODEL_PERMISSIONS), not from per-user permission rows.
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "zhijian.security.roles.AdministratorPermissionBackend"]
LOGIN_REDIRECT_URL = "home"
CSRF_FAILURE_VIEW = "zhijian.org.errorviews.csrf_failure"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "zhijian" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "zhijian.core.context.site",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("ZHIJIAN_DATABASE_URL") or f"sqlite:///{VAR_DIR / 'zhijian.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("ZHIJIAN_CONN_MAX_AGE", "0")))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL + a busy timeout let the web server and a worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- background work ---------------------------------------------------------------------------
REDIS_URL = os.environ.get("ZHIJIAN_REDIS_URL", "redis://127.0.0.1:6379/0")
TASKS_BACKEND = os.environ.get("ZHIJIAN_TASKS", "db")
if TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]  # django_tasks_rq's backend needs django_rq
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
elif TASKS_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# --- i18n ----------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "zhijian" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and uploads ------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "zhijian" / "static"]
# Uploads live outside the web root and are served only through checked views.
MEDIA_ROOT = VAR_DIR / "uploads"
MAX_UPLOAD_BYTES = int(os.environ.get("ZHIJIAN_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- API -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "zhijian.security.tokens.ApiTokenAuthentication",  # hashed, scoped, expiring (security.ApiToken)
    ],
    # Counted in the database (security.ratelimit), shared by every worker process.
    "DEFAULT_THROTTLE_RATES": {"auth_token": os.environ.get("ZHIJIAN_RATE_TOKEN_ENDPOINT", "10/min")},
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON with a nesting-depth and size limit and Chinese errors (core/parsers.py); forms as DRF's.
    "DEFAULT_PARSER_CLASSES": [
        "zhijian.core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "zhijian.core.pagination.Pagination",
    "PAGE_SIZE": 50,
    # django-filter with related-object filters scoped to the caller (an out-of-scope id reads as a missing one)
    "DEFAULT_FILTER_BACKENDS": ["zhijian.core.filters.ScopedFilterBackend"],
    # every operation lists its error statuses with the error shape; one object is not an array
    "DEFAULT_SCHEMA_CLASS": "zhijian.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "zhijian.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Zhijian API",
    "DESCRIPTION": "智监 智慧市场监管平台 REST API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Self-hosted Swagger UI: no CDN, no inline script (the CSP forbids both).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several apps have a "state", "source" or "trigger": name each choice set after its owner.
    "ENUM_NAME_OVERRIDES": {
        "TaskStateEnum": "zhijian.supervision.choices.TaskState",
        "TaskSourceEnum": "zhijian.supervision.choices.TaskSource",
        "PushStateEnum": "zhijian.coordination.choices.PushState",
        "PushTriggerEnum": "zhijian.coordination.choices.PushTrigger",
        "ClueStateEnum": "zhijian.clues.choices.ClueState",
        "ClueSourceEnum": "zhijian.clues.choices.ClueSource",
        "ClueKindEnum": "zhijian.clues.choices.ClueKind",
    },
}

# --- security baseline -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
HTTPS = _env_bool("ZHIJIAN_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# All the project's own (Chinese messages); ComplexityValidator holds the length rule, and the
# common-password list is Django's plus common Chinese patterns (security/data/common_passwords_zh.txt).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "zhijian.security.passwords.AttributeSimilarityValidator"},
    {"NAME": "zhijian.security.passwords.CommonPasswordValidator"},
    {"NAME": "zhijian.security.passwords.NumericPasswordValidator"},
    {"NAME": "zhijian.security.passwords.ComplexityValidator", "OPTIONS": {"min_length": 10, "min_classes": 3}},
    {"NAME": "zhijian.security.passwords.PasswordHistoryValidator", "OPTIONS": {"keep": 5}},
]
# See docs/security.md for what each of these does and where it is tested.
PASSWORD_MAX_AGE_DAYS = int(os.environ.get("ZHIJIAN_PASSWORD_MAX_AGE_DAYS", "90"))
LOGIN_LOCKOUT_ATTEMPTS = int(os.environ.get("ZHIJIAN_LOCKOUT_ATTEMPTS", "5"))
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("ZHIJIAN_LOCKOUT_MINUTES", "15"))
# Failed sign-ins per (address, account) in the lockout window before each further try waits 2ⁿ s
# (still after an unlock); per address, any account (an office behind one NAT), before every
# sign-in from it waits for the window.
LOGIN_PAIR_FREE_ATTEMPTS = int(os.environ.get("ZHIJIAN_LOGIN_PAIR_FREE_ATTEMPTS", "5"))
LOGIN_IP_MAX_FAILURES = int(os.environ.get("ZHIJIAN_IP_MAX_FAILURES", "100"))
# Integrator API tokens (security.ApiToken): validity, live tokens per account, rotation overlap.
API_TOKEN_DAYS = int(os.environ.get("ZHIJIAN_API_TOKEN_DAYS", "90"))
API_TOKEN_MAX_DAYS = int(os.environ.get("ZHIJIAN_API_TOKEN_MAX_DAYS", "366"))
API_TOKEN_MAX_LIVE = int(os.environ.get("ZHIJIAN_API_TOKEN_MAX_LIVE", "10"))
API_TOKEN_ROTATION_GRACE_MINUTES = int(os.environ.get("ZHIJIAN_API_TOKEN_ROTATION_GRACE_MINUTES", "60"))
# Pages anyone may open without signing in: requests per client address (security.ratelimit).
RATE_LIMITS = {prefix: os.environ.get("ZHIJIAN_RATE_PUBLIC_PAGES", "60/min") for prefix in ("/p/", "/public/", "/portal/")}
IDLE_TIMEOUT_SECONDS = 60 * int(os.environ.get("ZHIJIAN_IDLE_TIMEOUT", "30"))  # minutes in the environment
SESSION_ABSOLUTE_AGE = 3600 * int(os.environ.get("ZHIJIAN_SESSION_MAX_HOURS", "12"))
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_AGE
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
REQUIRE_OTP = _env_bool("ZHIJIAN_REQUIRE_OTP", True)
OTP_TOTP_ISSUER = "智监"
# Never below 184 days: six consecutive months are up to 184 days long (security/dbguard.py).
AUDIT_RETENTION_DAYS = max(184, int(os.environ.get("ZHIJIAN_AUDIT_RETENTION_DAYS", "184")))
# Business roles that see personal data unmasked within their jurisdiction (security/masking.py);
# role codes as data, since security sits below org. org.checks verifies they are roles.
PERSONAL_DATA_ROLES = ("legal_reviewer", "leader")
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
MAX_REQUEST_BYTES = MAX_UPLOAD_BYTES + 1024 * 1024  # one upload plus its form fields

# --- product settings --------------------------------------------------------------------------
# Base map of every map page (docs/geo.md): a Leaflet tile URL template ({s} {z} {x} {y}), e.g.
# 天地图 vec_w with its key (tk=) or an internal tile server; empty: no tiles, division names drawn.
TILE_URL = os.environ.get("ZHIJIAN_TILE_URL", "")
TILE_LABEL_URL = os.environ.get("ZHIJIAN_TILE_LABEL_URL", "")  # a label layer over it (天地图 cva_w), same host
TILE_SUBDOMAINS = os.environ.get("ZHIJIAN_TILE_SUBDOMAINS", "abc")  # what {s} takes (天地图: 01234567)
TILE_ATTRIBUTION = os.environ.get("ZHIJIAN_TILE_ATTRIBUTION", "")
TILE_MAX_ZOOM = int(os.environ.get("ZHIJIAN_TILE_MAX_ZOOM", "18"))
COMMAND_POLL_SECONDS = int(os.environ.get("ZHIJIAN_COMMAND_POLL_SECONDS", "20"))
# The address printed in QR codes on documents (e.g. https://scjg.example.gov.cn); empty: the request's host.
PUBLIC_BASE_URL = os.environ.get("ZHIJIAN_PUBLIC_BASE_URL", "")
SIGNING_KEY = os.environ.get("ZHIJIAN_SIGNING_KEY", "")
# Trace ledger and event outbox / webhooks (docs/events.md).
TRACE_SHARDS = int(os.environ.get("ZHIJIAN_TRACE_SHARDS", "8"))
# Signed checkpoints of the chain heads (docs/security.md): the append-only anchor file, best on storage the
# database host cannot rewrite; optional public keys (base64url) the anchor's first key must be one of.
# The default file is named after the database, so a test, benchmark or demo database never checks
# its chains against another database's checkpoints.
_db = DATABASES["default"]
_ANCHOR_NAME = (Path(str(_db["NAME"])).stem if _db["ENGINE"].endswith("sqlite3")
                else f"{_db.get('HOST') or 'local'}-{_db.get('PORT') or 5432}-{_db['NAME']}")
TRACE_ANCHOR_FILE = os.environ.get("ZHIJIAN_TRACE_ANCHOR_FILE", str(VAR_DIR / f"trace-anchor-{_ANCHOR_NAME}.jsonl"))
TRACE_ANCHOR_KEYS = [k.strip() for k in os.environ.get("ZHIJIAN_TRACE_ANCHOR_KEYS", "").split(",") if k.strip()]
WEBHOOK_TIMEOUT = float(os.environ.get("ZHIJIAN_WEBHOOK_TIMEOUT", "5"))
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("ZHIJIAN_WEBHOOK_MAX_ATTEMPTS", "8"))
WEBHOOK_RETRY_BASE = float(os.environ.get("ZHIJIAN_WEBHOOK_RETRY_BASE", "30"))
# Dispatch priority by event type pattern (lower first; others 1): registry facts start legal clocks.
EVENT_PRIORITIES = {"entity.*": 0}
# Inline handlers (the push to the departments' inboxes) run in the writer's transaction; "0"
# leaves them to the dispatcher like every other handler (core.events).
EVENT_INLINE = os.environ.get("ZHIJIAN_EVENT_INLINE", "1") != "0"
EVENT_HANDLER_MODULES = [m for m in os.environ.get("ZHIJIAN_EVENT_HANDLER_MODULES", "").split(",") if m]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ZHIJIAN_LOG_LEVEL", "WARNING")},
}
