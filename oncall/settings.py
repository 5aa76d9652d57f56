"""Settings for every mode, read from environment variables (see `.env.example`)."""

import datetime as dt
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from oncall import routing
from oncall.env import (
    env_bool,
    env_delays,
    env_duration,
    env_header,
    env_int,
    env_list,
    env_networks,
    env_phone_prefixes,
    env_rates,
    env_str,
    env_team_map,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY: required when DEBUG is off")
    SECRET_KEY = "insecure-local-development-key"

PUBLIC_URL = env_url("PUBLIC_URL", "http://127.0.0.1:8000", schemes=("http", "https")).rstrip("/")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [urlsplit(PUBLIC_URL).hostname, "127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]

INSTALLED_APPS = [
    # Django's admin with our front page (oncall/admin_site.py).
    "oncall.apps.OncallAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files, served from our static files instead of a CDN.
    "drf_spectacular_sidecar",
    "axes",
    "accounts",
    "schedules",
    "escalation",
    "paging",
    "config",
    # The responder app at `/`: sign-in, Now, incidents.
    "web",
    # django-auditlog's machinery; its entries are audit.AuditEntry (AUDITLOG_LOGENTRY_MODEL).
    "auditlog",
    "audit",
    "oncall.apps.OncallConfig",
]

MIDDLEWARE = [
    # Probes first: orchestrators call them by pod IP over plain HTTP (no host check, no redirect).
    "oncall.health.ProbeMiddleware",
    "oncall.requestid.RequestIdMiddleware",
    "oncall.metrics.AlertMetricsMiddleware",
    # Before any view or other middleware's process_view looks a NUL up (PostgreSQL refuses it).
    "oncall.nul.RefuseNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "oncall.usertime.ViewerTimeZoneMiddleware",
    # Attributes configuration changes to the request's person (or API token) and path.
    "audit.context.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: it turns a sign-in refused for a lockout into our 429 page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out (username, address) pair before any password is checked,
    # on every sign-in form that calls authenticate(request=…), admin's included.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # OpenID Connect single sign-on; signs no one in while OIDC_ISSUER is unset.
    "accounts.sso.SSOBackend",
]

ROOT_URLCONF = "oncall.urls"
# Everyone signs in on the responder app's page (admin keeps its own); `/` is the Now page.
LOGIN_URL = "web:signin"
LOGIN_REDIRECT_URL = "web:now"
# A password-setting link in an e-mail works this long (Django's default is three days).
PASSWORD_RESET_TIMEOUT = 24 * 3600
WSGI_APPLICATION = "oncall.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Before the apps' own templates: our admin/index.html and admin/base_site.html
        # override django.contrib.admin's, which APP_DIRS would find first.
        "DIRS": [BASE_DIR / "oncall" / "templates"],
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


def _database(url: str) -> dict:
    """Return Django's database settings for `url`, naming DATABASE_URL when it is bad."""
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"DATABASE_URL: {exc}") from exc
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Web, worker and beat share one file: WAL lets readers run beside the one writer,
        # and IMMEDIATE makes a writer wait for the lock instead of failing mid-transaction.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    else:
        # Server-side binding with a prepare threshold lets psycopg prepare the statements a
        # connection runs repeatedly (after five runs), so hot ingestion statements are planned
        # once per connection. Behind PgBouncer in transaction mode, set DATABASE_PREPARE=false.
        threshold = 5 if env_bool("DATABASE_PREPARE", True) else None
        config["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": threshold}
    return config


DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{VAR_DIR / 'oncall.sqlite3'}",
    schemes=("postgres", "postgresql", "pgsql", "sqlite"),
)
DATABASES = {"default": _database(DATABASE_URL)}
if DATABASE_URL.startswith("sqlite"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times on pages carry their zone: "Sat 5 Dec 09:03 CET" (oncall/formats/en/formats.py).
FORMAT_MODULE_PATH = ["oncall.formats"]

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STORAGES = {
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Celery -----------------------------------------------------------------------------------
# With no broker configured, an embedded file-system broker under var/ lets web, worker and beat
# talk without any server; production points CELERY_BROKER_URL or REDIS_URL at Redis/RabbitMQ.
_BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "filesystem", "memory")
REDIS_URL = env_url("REDIS_URL", "", schemes=("redis", "rediss"))
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", REDIS_URL or "filesystem://localhost/", schemes=_BROKER_SCHEMES
)
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Kombu's exchange tables; without this they land in ./control of whatever directory
        # the process was started from.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith(("redis", "rediss")):
    # Longer than any acknowledgement timeout we schedule with an ETA, so Redis does not
    # hand the same delayed task to a second worker; the sweeper covers anything lost.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 6 * 3600,
        # Without a socket timeout kombu waits forever on a connection Redis dropped or never
        # answered (a restart, a failover): beat's publish of the sweep and a worker's consumer
        # were seen wedged for good after a Redis restart in `make rehearsal`. With these, a
        # stuck command fails within seconds and kombu reconnects.
        "socket_timeout": 5,
        "socket_connect_timeout": 3,
        "socket_keepalive": True,
        "health_check_interval": 10,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Publishing happens after a commit inside a web request: fail fast when the broker is down and
# let the sweeper pick the work up, rather than hold the monitoring tool's request open.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The console channel prints pages; let them reach the terminal as they are.
CELERY_WORKER_REDIRECT_STDOUTS = False
# One queue per kind of work (oncall/routing.py); a worker without -Q consumes them all.
CELERY_TASK_QUEUES = routing.QUEUES
CELERY_TASK_DEFAULT_QUEUE = routing.DEFAULT_QUEUE
CELERY_TASK_ROUTES = ("oncall.routing.route",)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
SWEEP_INTERVAL_SECONDS = env_int("SWEEP_INTERVAL_SECONDS", 5, minimum=1)
# Beat answers `celery inspect ping -d beat@<host>` (deploy/ probes its liveness so), but only
# while its scheduler keeps ticking: it ticks at least once a sweep interval, so a minute
# without a tick means it is wedged (a publish stuck on a dead broker connection) and should
# be restarted; a plain process check would call such a beat alive and sweeps would stop.
CELERY_BEAT_ENABLE_REMOTE_CONTROL = True
CELERY_BEAT_REMOTE_CONTROL_MAX_TICK_AGE = max(60, 6 * SWEEP_INTERVAL_SECONDS)
# Imported calendars (iCal feed layers) are re-fetched this often; beat checks every minute.
CALENDAR_REFRESH_SECONDS = env_int("CALENDAR_REFRESH_SECONDS", 900, minimum=60)
# What one calendar import may produce: occurrences in its window, bytes of .ics, seconds of
# expanding. Past a cap the refresh fails with the reason and the last good copy stays.
CALENDAR_IMPORT_MAX_EVENTS = env_int("CALENDAR_IMPORT_MAX_EVENTS", 5000, minimum=1)
CALENDAR_IMPORT_MAX_BYTES = env_int("CALENDAR_IMPORT_MAX_BYTES", 2 * 1024 * 1024, minimum=1024)
CALENDAR_IMPORT_MAX_SECONDS = env_int("CALENDAR_IMPORT_MAX_SECONDS", 10, minimum=1)
# The most events one served iCal feed (/calendar/<token>.ics) holds, current and coming first.
CALENDAR_FEED_MAX_EVENTS = env_int("CALENDAR_FEED_MAX_EVENTS", 5000, minimum=1)

# --- Outbound requests (oncall/outbound.py) ----------------------------------------------------
# Non-public addresses (loopback, private, link-local, ...) are refused unless listed here, e.g.
# an internal calendar server: comma-separated CIDRs. Cloud metadata addresses never pass.
OUTBOUND_ALLOWED_NETWORKS = env_networks("OUTBOUND_ALLOWED_NETWORKS", [])
# The most one outbound fetch may take (redirects and body included) and may bring back.
OUTBOUND_TIMEOUT_SECONDS = env_int("OUTBOUND_TIMEOUT_SECONDS", 20, minimum=1)
OUTBOUND_MAX_BYTES = env_int("OUTBOUND_MAX_BYTES", 2 * 1024 * 1024, minimum=1024)
# The CA certificates outbound HTTPS is verified against; empty: the public ones (certifi). Set it
# to a bundle that also holds your company's CA for a calendar server with an internal certificate.
OUTBOUND_CA_BUNDLE = env_str("OUTBOUND_CA_BUNDLE", "")

# --- Twilio and e-mail ------------------------------------------------------------------------
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
TWILIO_API_BASE_URL = env_url("TWILIO_API_BASE_URL", "", schemes=("http", "https")).rstrip("/")
# The most one Twilio request takes, connecting included. With EMAIL_TIMEOUT it also bounds how
# late a worker killed mid-send makes its pages: a page left "sending" is sent again once its
# claim is its channel's bound + 3 s old (`paging.notify.channels.sending_stale_after`). Keep
# both short.
TWILIO_TIMEOUT_SECONDS = env_int("TWILIO_TIMEOUT_SECONDS", 5, minimum=1)

EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# The most one e-mail takes in all, from connecting to the server's last answer (oncall/mail.py).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 5, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "oncall@localhost")
EMAIL_BACKEND = (
    "oncall.mail.EmailBackend"  # Django's, with EMAIL_TIMEOUT for a whole message
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
# Without Twilio, SMS and calls are printed on the console; without EMAIL_HOST, e-mail is. Right
# for `make run`, a silent outage in production: with this off, the system check refuses to start
# (paging.E002) rather than print pages (links and codes included) and call them sent.
PAGING_CONSOLE_CHANNELS = env_bool("PAGING_CONSOLE_CHANNELS", DEBUG)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL: set at most one of them")

# --- Security (production) --------------------------------------------------------------------
_HTTPS = PUBLIC_URL.startswith("https://")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _HTTPS else None
SESSION_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_SECURE = _HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# plain: one readable line per record; json: one JSON object per line (log collectors).
LOG_FORMAT = env_str("LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT: {LOG_FORMAT!r} must be plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "oncall.requestid.RequestIdFilter"}},
    "formatters": {
        # Both formatters redact secrets and phone numbers in the finished line (oncall/logs.py).
        "plain": {
            "()": "oncall.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "oncall.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # The twilio library logs request bodies (phone numbers, message text) at INFO.
        "twilio": {"level": "WARNING"},
        # urllib3 logs each request's full path at DEBUG: calendar feed URLs carry tokens.
        "urllib3": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
        # One line per task run (the sweeper runs every few seconds) is noise; failures still log.
        "celery.app.trace": {"level": "WARNING"},
        "celery.beat": {"level": "WARNING"},
        # axes logs every sign-in at INFO; its failures and lockouts come at WARNING.
        "axes": {"level": "WARNING"},
        # One line per request; quiet it with LOG_ACCESS=false behind a proxy that logs.
        "oncall.access": {"level": "INFO" if env_bool("LOG_ACCESS", True) else "WARNING"},
    },
}

# --- Metrics ----------------------------------------------------------------------------------
# Processes on one host that share this directory share their counts (oncall/metrics.py).
# prometheus-client reads it itself and switches modes on its mere presence: empty means unset.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
else:
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
# Bearer token that /metrics requires; empty: open (keep /metrics off the public ingress).
METRICS_TOKEN = env_str("METRICS_TOKEN")
# A port on which each Celery worker serves its own metrics (workers on hosts without a web
# process); 0: off. Within one host, PROMETHEUS_MULTIPROC_DIR shares them with /metrics instead.
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0)

# --- Paging -----------------------------------------------------------------------------------
# How many times a transient provider failure is retried before the notification fails.
PAGING_DELIVERY_MAX_ATTEMPTS = env_int("PAGING_DELIVERY_MAX_ATTEMPTS", 5, minimum=1)
# How a person without notification rules of their own is reached: every contact method of
# each listed kind, that long after they are paged.
PAGING_DEFAULT_RULES = env_delays(
    "PAGING_DEFAULT_RULES",
    "sms:0,voice:0,email:0,push:0",
    kinds=("sms", "voice", "email", "push"),
)
# Carrier-safe limits per phone number: seconds between two SMS, and SMS per hour. Pages held
# back by them go out together as one bundled SMS when the number may be texted again.
PAGING_SMS_MIN_INTERVAL_SECONDS = env_int("PAGING_SMS_MIN_INTERVAL_SECONDS", 5)
PAGING_SMS_MAX_PER_HOUR = env_int("PAGING_SMS_MAX_PER_HOUR", 30, minimum=1)
# The same for calls: seconds between two calls to one number, and calls an hour. A call held
# back goes out when the number may be called again; a wait over a minute is on the timeline.
PAGING_VOICE_MIN_INTERVAL_SECONDS = env_int("PAGING_VOICE_MIN_INTERVAL_SECONDS", 30)
PAGING_VOICE_MAX_PER_HOUR = env_int("PAGING_VOICE_MAX_PER_HOUR", 20, minimum=1)
# Pages for one number due at the same moment go out as one SMS ("reply 100A to ack all").
PAGING_SMS_BUNDLE = env_bool("PAGING_SMS_BUNDLE", True)
# SMS replies taken from one number per minute; more get no answer and change nothing.
PAGING_SMS_REPLIES_PER_MINUTE = env_int("PAGING_SMS_REPLIES_PER_MINUTE", 10, minimum=1)
# A reply code (`1A`) or bundle code (`100A`) stays with its incident this long after it
# closes, so a late reply naming it never reaches a newer incident; handled inbound SMS are
# remembered as long, so a repeated delivery is answered the same and changes nothing.
PAGING_REPLY_CODE_QUARANTINE = env_duration(
    "PAGING_REPLY_CODE_QUARANTINE", "24h", minimum=dt.timedelta(hours=1)
)
# A busy / unanswered / failed call is placed again this many times, this many seconds apart,
# before the person's next contact method goes out (0: next contact method at once).
PAGING_VOICE_REDIALS = env_int("PAGING_VOICE_REDIALS", 0)
PAGING_VOICE_REDIAL_SECONDS = env_int("PAGING_VOICE_REDIAL_SECONDS", 60, minimum=1)
# Answering machine detection on page calls: a call that voicemail (or a fax) answers is not a
# delivered page; the next contact method goes out at once and a short voicemail is left.
PAGING_VOICE_MACHINE_DETECTION = env_bool("PAGING_VOICE_MACHINE_DETECTION", True)
# How long the acknowledge / resolve links in a page e-mail work.
PAGING_EMAIL_LINK_MAX_AGE_SECONDS = env_int("PAGING_EMAIL_LINK_MAX_AGE_SECONDS", 86400, minimum=60)
# Push notifications (Web Push with VAPID): the server's P-256 private key (PEM, or base64url of
# the raw key or DER; `.venv/bin/vapid --gen` writes one), and whom push services may write to
# (mailto: or https:). The public key browsers subscribe with is derived from the private one.
WEBPUSH_VAPID_PRIVATE_KEY = env_str("WEBPUSH_VAPID_PRIVATE_KEY")
WEBPUSH_VAPID_SUBJECT = env_str("WEBPUSH_VAPID_SUBJECT")
# `make run` (DEBUG, no key set): the key its demo made under VAR_DIR, so that push works on a
# laptop out of the box. Never in production: there the key is set or push is off.
LOCAL_VAPID_KEY_FILE = VAR_DIR / "vapid-private.pem"
if DEBUG and not WEBPUSH_VAPID_PRIVATE_KEY and LOCAL_VAPID_KEY_FILE.exists():
    WEBPUSH_VAPID_PRIVATE_KEY = LOCAL_VAPID_KEY_FILE.read_text(encoding="utf-8")
    WEBPUSH_VAPID_SUBJECT = WEBPUSH_VAPID_SUBJECT or "mailto:admin@example.com"
# The most seconds one request to a push service takes, connecting included.
WEBPUSH_TIMEOUT_SECONDS = env_int("WEBPUSH_TIMEOUT_SECONDS", 5, minimum=1)
# How long the Acknowledge / Resolve actions of a push notification work (each works once).
PAGING_PUSH_ACTION_MAX_AGE_SECONDS = env_int(
    "PAGING_PUSH_ACTION_MAX_AGE_SECONDS", 4 * 3600, minimum=60
)
# How long a contact method verification code (or e-mail link) works.
PAGING_VERIFY_CODE_MINUTES = env_int("PAGING_VERIFY_CODE_MINUTES", 30, minimum=1)
# Phone numbers (SMS and calls) that may be added as contact methods, by prefix (`+1,+44`);
# empty: any country. Refused: ranges whose SMS and calls are charged at premium rates
# (`none` refuses nothing): +808 shared cost, +870 Inmarsat, +878 personal numbers, +881
# satellite phones, +882 and +883 international networks, +979 premium rate, +991 trials. A
# longer or equal allowed prefix wins over a refused one (CONTACT_ALLOWED_COUNTRY_CODES=+1,+881
# allows Iridium phones too).
CONTACT_ALLOWED_COUNTRY_CODES = env_phone_prefixes("CONTACT_ALLOWED_COUNTRY_CODES", "none")
CONTACT_REFUSED_COUNTRY_CODES = env_phone_prefixes(
    "CONTACT_REFUSED_COUNTRY_CODES", "+808,+870,+878,+881,+882,+883,+979,+991"
)
# Verification codes cost money and can be aimed at anyone's number: at most this many are
# sent to one number or address, and to one person's methods together, in each window
# (`count/window, …`; windows in s, m or h). Deleting and re-adding a number does not reset them.
PAGING_VERIFY_SENDS_PER_METHOD = env_rates("PAGING_VERIFY_SENDS_PER_METHOD", "3/10m,10/24h")
PAGING_VERIFY_SENDS_PER_PERSON = env_rates("PAGING_VERIFY_SENDS_PER_PERSON", "6/10m,20/24h")
# One incident is escalated by hand (API, admin, SMS `1E`, key 5 on a call) at most once in this
# long: each manual escalation pages the next level at once. 0 turns the limit off.
PAGING_MANUAL_ESCALATION_INTERVAL = env_duration(
    "PAGING_MANUAL_ESCALATION_INTERVAL", "1m", minimum=dt.timedelta(0)
)
# Five wrong codes wear a contact method's codes out for this long; a resend does not restore
# the guesses (only this window ending, or a successful verification, does).
PAGING_VERIFY_GUESS_WINDOW = env_duration(
    "PAGING_VERIFY_GUESS_WINDOW", "1h", minimum=dt.timedelta(minutes=1)
)
# On PostgreSQL a trigger joins or opens its incident in one SQL statement
# (paging/ingest/store_pg.py); off, every alert takes the portable ORM path. Only for comparing
# the two.
INGEST_FAST_PATH = env_bool("INGEST_FAST_PATH", True)
# A Grafana request signed with a timestamp is refused when the timestamp is further than this
# from our clock (either way): a captured request cannot be replayed later.
GRAFANA_SIGNATURE_MAX_AGE_SECONDS = env_int("GRAFANA_SIGNATURE_MAX_AGE_SECONDS", 300, minimum=1)
# Webhook bodies over this size get a 413 (Alertmanager groups of thousands of alerts stay under).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Bearer first, so an anonymous request gets 401 with `WWW-Authenticate: Bearer`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's defaults, with a JSON parser that reads numbers past a float's range as text.
    "DEFAULT_PARSER_CLASSES": [
        "oncall.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "oncall.pagination.Pagination",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "On-call paging API",
    "VERSION": "1",
    # The docs page loads a pinned Swagger UI from our own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "Weekday": "schedules.models.Weekday",
        "ContactKind": "paging.models.ContactKind",
        "IntegrationKind": "paging.models.IntegrationKind",
        "RestrictionKind": "schedules.models.RestrictionKind",
    },
}

# --- Sign-in throttling (django-axes) ---------------------------------------------------------
# This many failed sign-ins for one username from one address lock that pair out ...
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5, minimum=1)
# ... for this many minutes after the last failure counted (failures older than that are
# forgotten). Other addresses and other usernames are not affected.
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("SIGNIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Attempts refused during a lockout do not extend it, so the page can say when it ends.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# The client's address is REMOTE_ADDR unless SIGNIN_CLIENT_IP_HEADER names the header a trusted
# proxy sets (e.g. X-Real-IP); any other header a client sends is ignored, so no one can claim
# another address. With X-Forwarded-For, the right-most entry (the one the proxy added) counts.
SIGNIN_CLIENT_IP_HEADER = env_header("SIGNIN_CLIENT_IP_HEADER")
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"

# --- Password e-mails (set or reset your password) ----------------------------------------------
# At most this many e-mails to one address per window (count/window, comma-separated). Requests
# past it get the usual "if an account exists" page and send nothing, so nothing leaks.
PASSWORD_RESET_PER_ADDRESS = env_rates("PASSWORD_RESET_PER_ADDRESS", "3/1h")
# At most this many requests from one client address (found as sign-in finds it, see
# SIGNIN_CLIENT_IP_HEADER); past it the page says to wait (429 with Retry-After).
PASSWORD_RESET_PER_CLIENT = env_rates("PASSWORD_RESET_PER_CLIENT", "20/1h")

# --- Content-Security-Policy (django-csp) -----------------------------------------------------
# Every response says: our own origin only, no inline script without the page's nonce, no
# plugins, no framing, forms post only to us. Swagger UI's icons are data: URLs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Teams: everyone signed in may read other teams' incidents and schedules (never their
# integrations or anyone's contact details); false keeps each team's to its members.
TEAMS_OPEN_READ = env_bool("TEAMS_OPEN_READ", True)

# --- Single sign-on (OpenID Connect, accounts/sso.py) ------------------------------------------
# Unset OIDC_ISSUER: no single sign-on, password sign-in only. The provider's endpoints are read
# from <issuer>/.well-known/openid-configuration on first use, not here.
OIDC_ISSUER = env_url("OIDC_ISSUER", "", schemes=("https", "http"))
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_TEAM_MAP = env_team_map("OIDC_TEAM_MAP", roles=("manager", "responder", "observer"))
OIDC_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_TIMEOUT_SECONDS = env_int("OIDC_TIMEOUT_SECONDS", 10, minimum=1)
# mozilla-django-oidc's own names for the above (its endpoints come from accounts/sso.py).
OIDC_RP_CLIENT_ID = OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = OIDC_CLIENT_SECRET
OIDC_RP_SCOPES = OIDC_SCOPES
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_TIMEOUT = OIDC_TIMEOUT_SECONDS
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "sso_callback"

# --- Audit log (audit/) -----------------------------------------------------------------------
AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"
# auditlog's own migrations would make its (swapped-out, unused) auditlog_logentry table anyway.
MIGRATION_MODULES = {"auditlog": None}
# Each entry's correlation id is the request id (X-Request-ID) of the request or task that made it.
AUDITLOG_CID_GETTER = "audit.context.request_id"
# Changes store their values as JSON (null, numbers, true/false), not all as text.
AUDITLOG_STORE_JSON_CHANGES = True
# Fixtures loaded with loaddata are not somebody's change.
AUDITLOG_DISABLE_ON_RAW_SAVE = True
# Entries older than this are deleted (hourly); unset or empty keeps them for ever.
AUDIT_LOG_MAX_AGE = env_duration("AUDIT_LOG_MAX_AGE", "0", minimum=dt.timedelta(0)) or None
