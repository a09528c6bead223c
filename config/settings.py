"""Settings, read from the environment (django-environ; a `.env` file is optional).

Every variable has a default that runs the embedded demo safely on 127.0.0.1: SQLite, the
django-q2 ORM broker, the sandbox emulators, and DEBUG off (``make run`` serves like production;
set DEBUG=true for development). Production sets SANDBOX=false, SECRET_KEY,
FIELD_ENCRYPTION_KEY, ALLOWED_HOSTS, DATABASE_URL and usually REDIS_URL; the README lists them.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.keys import stored_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Off unless asked for: a debug page shows the settings and the process environment to anyone
# who can cause an error.
DEBUG = env.bool("DEBUG", default=False)

# Where the app keeps files of its own: the generated secret key, the sandbox's state and TLS
# certificate.
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data")))

# The embedded Salesforce and HubSpot emulators ("try it without touching your org").
SANDBOX = env.bool("SANDBOX", default=True)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not SANDBOX:
        # A key generated per machine would differ between a deployment's web and worker
        # machines, and FIELD_ENCRYPTION_KEY is derived from it unless set.
        raise ImproperlyConfigured("SECRET_KEY must be set when SANDBOX is false (see the README's Deployment).")
    SECRET_KEY = stored_secret_key(DATA_DIR / "secret_key")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django's admin on this project's site (config/admin_site.py): throttled password checks,
    # the same refusal for a missing object as for one the user may not see.
    "config.apps.GateAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    # The project's own models (the login attempts of config/throttle.py).
    "config.apps.ConfigConfig",
    "lists",
    "integration",
    "sync",
    # The emulators' management commands (sandbox_serve, sandbox_seed, sandbox_reset); the app
    # itself never imports the package.
    "sandbox",
]

MIDDLEWARE = [
    # First: a Content-Length that is not a number of bytes is a 400 before anything reads the body.
    "lists.jsonguard.ContentLengthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The admin's chrome for the whole project; every other template sits beside its app.
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

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE transactions and a
    # busy timeout make writers queue instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# ``make run`` collects static files here and whitenoise serves them (hashed names, compressed).
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "admin:login"

# Login throttling (config/throttle.py): 5 wrong passwords lock a username from an address for
# 15 minutes. Each attempt is reserved before its password is checked (in Redis when REDIS_URL is
# set, else in the database), so parallel guesses cannot outrun the count.
AUTHENTICATION_BACKENDS = ["config.throttle.ThrottledModelBackend"]
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)

# Secrets of the connections (tokens, refresh tokens, private keys) are encrypted at rest
# with this Fernet key. The demo derives one from SECRET_KEY; production sets its own so that
# rotating SECRET_KEY does not make stored secrets unreadable.
FIELD_ENCRYPTION_KEY = env.str(
    "FIELD_ENCRYPTION_KEY",
    default=base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode(),
)

# Where the app finds the emulators (SANDBOX above).
SANDBOX_HUBSPOT_URL = env.str("SANDBOX_HUBSPOT_URL", default="http://127.0.0.1:8100")
SANDBOX_SALESFORCE_URL = env.str("SANDBOX_SALESFORCE_URL", default="https://127.0.0.1:8443")
# The emulator's self-signed certificate, which the Salesforce client trusts; default: the one
# ``sandbox_serve`` generates in DATA_DIR/sandbox (the app never imports the sandbox package).
SANDBOX_SALESFORCE_CERT = env.str("SANDBOX_SALESFORCE_CERT", default=str(DATA_DIR / "sandbox" / "sandbox-cert.pem"))

# Real connections. Settings entered on the connected-app page take precedence; these let a
# deployment be configured entirely from the environment.
SALESFORCE_INSTANCE_URL = env.str("SALESFORCE_INSTANCE_URL", default="")
SALESFORCE_LOGIN_URL = env.str("SALESFORCE_LOGIN_URL", default="https://login.salesforce.com")
SALESFORCE_AUTH_METHOD = env.str("SALESFORCE_AUTH_METHOD", default="")
SALESFORCE_CLIENT_ID = env.str("SALESFORCE_CLIENT_ID", default="")
SALESFORCE_CLIENT_SECRET = env.str("SALESFORCE_CLIENT_SECRET", default="")
SALESFORCE_USERNAME = env.str("SALESFORCE_USERNAME", default="")
SALESFORCE_PRIVATE_KEY_FILE = env.str("SALESFORCE_PRIVATE_KEY_FILE", default="")
SALESFORCE_REFRESH_TOKEN = env.str("SALESFORCE_REFRESH_TOKEN", default="")
SALESFORCE_API_VERSION = env.str("SALESFORCE_API_VERSION", default="59.0")
HUBSPOT_BASE_URL = env.str("HUBSPOT_BASE_URL", default="https://api.hubapi.com")
HUBSPOT_ACCESS_TOKEN = env.str("HUBSPOT_ACCESS_TOKEN", default="")
HUBSPOT_CLIENT_SECRET = env.str("HUBSPOT_CLIENT_SECRET", default="")

# Background jobs. timeout < retry, bounded attempts and acknowledged failures, so a task
# that keeps failing is not redelivered forever.
REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER = {
    "name": "inclusion-gate",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=1800),
    "retry": env.int("Q_RETRY", default=1860),
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 500,
    "label": _("Background jobs"),
}
# One cache shared by every web and worker process (the webhook's debounce, cached Salesforce
# describes, the metrics' running totals), never one per process: Redis when the deployment has
# it, else a table of the database (created by config/migrations/0002_cache_table.py).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    Q_CLUSTER["redis"] = REDIS_URL
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"}}
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5

# Production hardening: ``manage.py check --deploy`` is clean with DEBUG=false and the defaults.
# SECURE_SSL_REDIRECT=false serves plain http, for the loopback demo (``make run`` sets it);
# cookies are then sent over http too, else the browser would drop the session cookie.
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # A load balancer's or an orchestrator's probe asks over plain http; the answer holds no data.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = SECURE_SSL_REDIRECT
    CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
# Behind a reverse proxy that terminates TLS, X-Forwarded-Proto says whether the client used
# https. Only that proxy may say so: without one, any client could send the header and pass for
# a secure request (no redirect to https, secure-only checks satisfied over plain http).
TRUST_PROXY = env.bool("TRUST_PROXY", default=False)
if TRUST_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The most records in one Bulk API job when a big queue (a first sync, a resync) is pushed.
# Workers claim 2,000 contacts at a time whatever this is (so several share the queue) and
# keep the job's records on disk until it is sent: larger means fewer API calls, not more memory.
SYNC_BULK_BATCH = env.int("SYNC_BULK_BATCH", default=50_000)

# Ops view: how long the per-record sync log is kept, and who is told when the sync is in trouble.
SYNC_RECORD_RETENTION_DAYS = env.int("SYNC_RECORD_RETENTION_DAYS", default=30)
# How often the Salesforce pull reads Salesforce's deleted records (two API calls each time); a
# write to a deleted record meets the deletion at once whatever this is.
SYNC_SALESFORCE_DELETIONS_EVERY_SECONDS = env.int("SYNC_SALESFORCE_DELETIONS_EVERY_SECONDS", default=900)
# Operations (config/health.py, config/metrics.py): /healthz calls the worker down when no sync
# run has shown a heartbeat for this long (default: 10 minutes, and never less than three polling
# intervals); /metrics exists only when METRICS_TOKEN is set, and asks for it as a bearer token.
HEALTH_WORKER_MAX_AGE_SECONDS = env.int("HEALTH_WORKER_MAX_AGE_SECONDS", default=600)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
SYNC_ALERT_EMAILS = env.list("SYNC_ALERT_EMAILS", default=[])
SYNC_ALERT_FAILURE_THRESHOLD = env.int("SYNC_ALERT_FAILURE_THRESHOLD", default=25)
SYNC_PUBLIC_URL = env.str("SYNC_PUBLIC_URL", default="http://127.0.0.1:8000")
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="inclusion-sync@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Tokens, refresh tokens and keys never reach a log line.
    "filters": {"redact_secrets": {"()": "integration.log_filters.SecretRedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django_q": {"level": "WARNING"}},
}
