"""
Paperless-ngx's authentication shell, for the gateway's tests: the settings of
paperless/settings.py (2.20.x) that decide who a request is, read from the same
PAPERLESS_* variables. Documents, OCR and Celery are left out.
"""

import json
import os
from pathlib import Path


def _bool(name: str, default: str = "NO") -> bool:
    return os.getenv(name, default).lower() in ("yes", "y", "1", "t", "true")


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("PAPERLESS_DATA_DIR", BASE_DIR / "data"))

# Not a Paperless setting: which release line this shell reproduces, 2 (2.20.15, contract §7)
# or 3 (3.0.5, contract §8).
PAPERLESS_TEST_LINE = int(os.getenv("PAPERLESS_TEST_LINE", "2"))

SECRET_KEY = os.getenv("PAPERLESS_SECRET_KEY", "e11fl1oa-*ytql8p)(06fbj4ukrlo+n7k&q5+$1md7i+mge=ee")
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "paperless",
    "documents",
    "paperless_mail",
    "django.contrib.admin",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "guardian",
    "allauth",
    "allauth.account",
    "channels",
]

MIDDLEWARE = [
    # Not Paperless's: records each request as Django parsed it, for the tests.
    "paperless.recorder.RecordingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "paperless.middleware.ApiVersionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "paperless.urls"
ASGI_APPLICATION = "paperless.asgi.application"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.getenv("PAPERLESS_DBNAME", str(DATA_DIR / "db.sqlite3")),
        "OPTIONS": {"timeout": 20},
    },
}
# Paperless's rule: a non-empty PAPERLESS_DBHOST means PostgreSQL (compose's profile writes
# `postgres`); empty or unset, SQLite. Its defaults for name, user and password are `paperless`.
if os.getenv("PAPERLESS_DBHOST"):
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.getenv("PAPERLESS_DBHOST"),
        "PORT": os.getenv("PAPERLESS_DBPORT", ""),
        "NAME": os.getenv("PAPERLESS_DBNAME", "paperless"),
        "USER": os.getenv("PAPERLESS_DBUSER", "paperless"),
        "PASSWORD": os.getenv("PAPERLESS_DBPASS", "paperless"),
        "OPTIONS": {"sslmode": os.getenv("PAPERLESS_DBSSLMODE", "prefer")},
    }
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

REST_FRAMEWORK = {
    # Paperless's order: the first class decides the answer to an anonymous request, and
    # SessionAuthentication has no WWW-Authenticate header, so that answer is 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.AcceptHeaderVersioning",
    "DEFAULT_VERSION": "1",
    "ALLOWED_VERSIONS": ["1", "2", "3", "4", "5", "6", "7", "8", "9"],
}
if PAPERLESS_TEST_LINE == 3:
    # 3.x accepts only 9 (legacy) and 10, its default.
    REST_FRAMEWORK["DEFAULT_VERSION"] = "10"
    REST_FRAMEWORK["ALLOWED_VERSIONS"] = ["9", "10"]
    # django-allauth's headless API, which 3.x serves under /api/auth/headless/.
    INSTALLED_APPS.append("allauth.headless")
    # 3.x throttles POST /api/token/ per client address (DRF's ScopedRateThrottle).
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"login": os.getenv("PAPERLESS_TOKEN_THROTTLE_RATE", "5/m")}
    # The document chat needs an AI backend; without one it answers 400.
    AI_ENABLED = _bool("PAPERLESS_AI_ENABLED")

AUTHENTICATION_BACKENDS = [
    # Paperless's order: object permissions (documents shared with a user or group) first.
    "guardian.backends.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

ENABLE_HTTP_REMOTE_USER = _bool("PAPERLESS_ENABLE_HTTP_REMOTE_USER")
HTTP_REMOTE_USER_HEADER_NAME = os.getenv("PAPERLESS_HTTP_REMOTE_USER_HEADER_NAME", "HTTP_REMOTE_USER")
ENABLE_HTTP_REMOTE_USER_API = _bool("PAPERLESS_ENABLE_HTTP_REMOTE_USER_API")
if ENABLE_HTTP_REMOTE_USER:
    MIDDLEWARE.append("paperless.auth.HttpRemoteUserMiddleware")
    AUTHENTICATION_BACKENDS.insert(0, "django.contrib.auth.backends.RemoteUserBackend")
    if ENABLE_HTTP_REMOTE_USER_API:
        REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"].insert(0, "paperless.auth.PaperlessRemoteUserAuthentication")

AUDIT_LOG_ENABLED = _bool("PAPERLESS_AUDIT_LOG_ENABLED", "true")
if AUDIT_LOG_ENABLED:
    INSTALLED_APPS.append("auditlog")
    MIDDLEWARE.append("auditlog.middleware.AuditlogMiddleware")

COOKIE_PREFIX = os.getenv("PAPERLESS_COOKIE_PREFIX", "")
SESSION_COOKIE_NAME = f"{COOKIE_PREFIX}sessionid"
CSRF_COOKIE_NAME = f"{COOKIE_PREFIX}csrftoken"
LANGUAGE_COOKIE_NAME = f"{COOKIE_PREFIX}django_language"
SESSION_ENGINE = "django.contrib.sessions.backends.db"
ACCOUNT_SESSION_REMEMBER = _bool("PAPERLESS_ACCOUNT_SESSION_REMEMBER", "True")
SESSION_EXPIRE_AT_BROWSER_CLOSE = not ACCOUNT_SESSION_REMEMBER
SESSION_COOKIE_AGE = int(os.getenv("PAPERLESS_SESSION_COOKIE_AGE", 60 * 60 * 24 * 7 * 3))

PAPERLESS_URL = os.getenv("PAPERLESS_URL")
CSRF_TRUSTED_ORIGINS = [o for o in os.getenv("PAPERLESS_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
if PAPERLESS_URL:
    CSRF_TRUSTED_ORIGINS.append(PAPERLESS_URL)

USE_X_FORWARDED_HOST = _bool("PAPERLESS_USE_X_FORWARD_HOST")
USE_X_FORWARDED_PORT = _bool("PAPERLESS_USE_X_FORWARD_PORT")
_ssl_header = os.getenv("PAPERLESS_PROXY_SSL_HEADER")
SECURE_PROXY_SSL_HEADER = tuple(json.loads(_ssl_header)) if _ssl_header else None

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard"
LOGOUT_REDIRECT_URL = os.getenv("PAPERLESS_LOGOUT_REDIRECT_URL", "/accounts/login/?loggedout=1")

ACCOUNT_LOGOUT_ON_GET = True
ACCOUNT_ALLOW_SIGNUPS = False
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "paperless.adapter.CustomAccountAdapter"

# /api/token/ (DRF's ObtainAuthToken) has no throttle in 2.x.
STATIC_URL = "/static/"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("PAPERLESS_LOGLEVEL", "WARNING")},
}
