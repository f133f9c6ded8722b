"""Settings of the provincial platform. Every deployment knob is an environment variable, listed in
ENVIRONMENT below (and in the README's table, which a test keeps in step with it)."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

# name: (default, meaning). The README table is checked against this by tests/test_settings_doc.py.
ENVIRONMENT = {
    "DATABASE_URL": (
        "",
        "PostgreSQL URL. Empty: start the embedded PostgreSQL in PLATFORM_DATA_DIR.",
    ),
    "DRAMATIQ_BROKER_URL": (
        "",
        "Job broker: `redis://…` (production default) or `amqp://…`. Empty: jobs queue in the database.",
    ),
    "PLATFORM_BASE_DOMAIN": (
        "gov.localhost",
        "The provincial portal's host; tenants are its subdomains, and the sign-in cookie covers them all.",
    ),
    "PLATFORM_DATA_DIR": (
        "var",
        "Folder for the embedded database, uploads and logs (relative to the project).",
    ),
    "PLATFORM_ENV": (
        "production",
        "`production` refuses to start without SECRET_KEY, IDENTITY_KEY and AUDIT_KEY; `development` "
        "(set by `./dev`) falls back to public development keys.",
    ),
    "SECRET_KEY": (
        "",
        "Django's secret key. Required in production; empty uses a development key in development.",
    ),
    "DEBUG": ("0", "1 turns on Django's debug pages. Never in production."),
    "CONN_MAX_AGE": ("300", "Seconds a database connection is kept between requests."),
    "TENANT_SCHEMAS_PER_CONNECTION": (
        "50",
        "A connection that has entered more tenant schemas than this is closed at the end of its request "
        "or job, bounding the catalog cache each PostgreSQL backend keeps (about 1 MB per schema).",
    ),
    "TENANT_HOSTS_RELOAD_SECONDS": (
        "300",
        "Safety net: the in-process host → tenant map is reloaded at least this often, besides on every "
        "change notified by PostgreSQL.",
    ),
    "SECURE_COOKIES": (
        "0",
        "1 marks cookies Secure and redirects to HTTPS (production behind TLS).",
    ),
    "IDENTITY_KEY": (
        "",
        "Secret from which the ID-number lookup and encryption keys derive. Required in production. "
        "To change it, move the old one to IDENTITY_PREVIOUS_KEYS and run `rotate_identity_key`.",
    ),
    "IDENTITY_PREVIOUS_KEYS": (
        "",
        "Comma-separated former IDENTITY_KEY values, still accepted for reading and lookups until "
        "`manage.py rotate_identity_key` has re-encrypted every ID number; then remove them.",
    ),
    "AUDIT_KEY": (
        "",
        "Secret that keys the audit log's hash chain and signs its checkpoints. Required in production; "
        "never the same as the other keys, and kept from whoever administers the database.",
    ),
    "EMBEDDED_DATABASE_ROLE": (
        "",
        "Role a process uses on the embedded PostgreSQL. Empty: its superuser, the owner role; "
        "`./dev start` serves and runs the worker as DATABASE_APP_ROLE.",
    ),
    "DATABASE_APP_ROLE": (
        "platform_app",
        "PostgreSQL role the web server and workers log in as; migrations (run as the owner role) grant "
        "it only what the application needs. Not a role that owns tables.",
    ),
    "REAL_NAME_VERIFIER": (
        "shared_apps.accounts.verification.FormatOnlyVerifier",
        "Real-name verification service (dotted path); the default only checks the data is well formed.",
    ),
}


def env(name: str) -> str:
    return os.environ.get(name, ENVIRONMENT[name][0])


DEBUG = env("DEBUG") == "1"
PLATFORM_ENV = env("PLATFORM_ENV")
if PLATFORM_ENV not in ("production", "development"):
    raise ImproperlyConfigured(
        f"PLATFORM_ENV must be 'production' or 'development', not {PLATFORM_ENV!r}."
    )
DEVELOPMENT = PLATFORM_ENV == "development"


def secret(name: str, development_value: str) -> str:
    """A key from the environment. Production (the default) refuses to start without it: the
    development values are public in this repository."""
    value = env(name)
    if value:
        return value
    if DEVELOPMENT:
        return development_value
    raise ImproperlyConfigured(
        f"{name} is not set. Set it to a long random secret (from the secrets store), "
        f"or PLATFORM_ENV=development for development and tests only."
    )


SECRET_KEY = secret("SECRET_KEY", "django-insecure-development-key-set-SECRET_KEY-in-production")

DATA_DIR = (BASE_DIR / env("PLATFORM_DATA_DIR")).resolve()
BASE_DOMAIN = env("PLATFORM_BASE_DOMAIN").lower()

# Portal on the base domain, one subdomain per tenant; 127.0.0.1 for health probes.
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}", "127.0.0.1", "testserver"]

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "shared_apps.audit",
    "shared_apps.accounts",
    "shared_apps.catalog",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "govplatform.admin_site.PlatformAdminConfig",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
]
TENANT_APPS = [
    "tenant_apps.departments",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# One `SET search_path` per connection and tenant switch, not per cursor.
TENANT_LIMIT_SET_CALLS = True
PUBLIC_SCHEMA_URLCONF = "govplatform.urls_portal"
ROOT_URLCONF = "govplatform.urls_tenant"
TENANT_SCHEMAS_PER_CONNECTION = int(env("TENANT_SCHEMAS_PER_CONNECTION"))
TENANT_HOSTS_RELOAD_SECONDS = int(env("TENANT_HOSTS_RELOAD_SECONDS"))
# Host labels that never name a tenant.
RESERVED_SUBDOMAINS = {"www", "api", "admin", "static", "media", "mail", "portal", "gov"}

MIDDLEWARE = [
    "tenants.middleware.TenantHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "shared_apps.accounts.middleware.ProxyFilingMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "platform" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "tenants.context_processors.tenant",
            ],
        },
    },
]

WSGI_APPLICATION = "govplatform.wsgi.application"

if env("DATABASE_URL"):
    DATABASE_URL = env("DATABASE_URL")
    EMBEDDED_DATABASE = False
else:
    from govplatform.embedded import embedded_database_url

    DATABASE_URL = embedded_database_url(
        DATA_DIR, app_role=env("DATABASE_APP_ROLE"), role=env("EMBEDDED_DATABASE_ROLE")
    )
    EMBEDDED_DATABASE = True

DATABASES = {
    "default": {
        **dj_database_url.parse(
            DATABASE_URL, conn_max_age=int(env("CONN_MAX_AGE")), conn_health_checks=True
        ),
        "ENGINE": "tenants.postgresql",
    }
}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

BROKER_URL = env("DRAMATIQ_BROKER_URL")

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses sign-ins while an account is locked out
    "shared_apps.accounts.backends.IdentifierBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "accounts:sign_in"
LOGIN_REDIRECT_URL = "accounts:account"
IDENTITY_KEY = secret("IDENTITY_KEY", "insecure-development-identity-key")
# Former identity keys, readable until `rotate_identity_key` has re-encrypted everything.
IDENTITY_PREVIOUS_KEYS = [k.strip() for k in env("IDENTITY_PREVIOUS_KEYS").split(",") if k.strip()]
AUDIT_KEY = secret("AUDIT_KEY", "insecure-development-audit-key")
if len({SECRET_KEY, IDENTITY_KEY, AUDIT_KEY}) < 3:
    raise ImproperlyConfigured("SECRET_KEY, IDENTITY_KEY and AUDIT_KEY must differ.")
DATABASE_APP_ROLE = env("DATABASE_APP_ROLE")
REAL_NAME_VERIFIER = env("REAL_NAME_VERIFIER")
OTP_TOTP_ISSUER = "网上政务服务平台"
# Lock an account out for 15 minutes after 5 failed sign-ins in a row.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# Per account, not per address: a township service point files for many people from one address.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Simplified Chinese first, English second.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(
    parents=True, exist_ok=True
)  # collectstatic fills it; WhiteNoise wants it to exist

# Sessions live in `public`; the cookie is scoped to the base domain so one sign-in covers every
# subdomain. (Browsers refuse a cookie for the bare `localhost`: hence `gov.localhost` in development.)
SESSION_COOKIE_DOMAIN = f".{BASE_DOMAIN}"
CSRF_COOKIE_DOMAIN = SESSION_COOKIE_DOMAIN
CSRF_TRUSTED_ORIGINS = [
    f"http://*.{BASE_DOMAIN}",
    f"https://*.{BASE_DOMAIN}",
    f"http://{BASE_DOMAIN}",
    f"https://{BASE_DOMAIN}",
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = env("SECURE_COOKIES") == "1"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
