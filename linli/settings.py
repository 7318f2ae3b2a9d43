"""Django settings for linli, all from LINLI_* environment variables (see docs/configuration.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url

from linli.config import (
    ENVIRONMENTS,
    ConfigError,
    env_bool,
    env_choice,
    env_database_url,
    env_int,
    env_list,
    env_retired,
    load_env_file,
    load_secrets,
)

# One environment file for every entry point (linli, manage.py, the WSGI app):
# LINLI_ENV_FILE, else /etc/linli/linli.env (docs/configuration.md). Set variables win.
LINLI_ENV_FILE_LOADED = load_env_file()
# "production" refuses SQLite and DEBUG: a production site runs on PostgreSQL.
LINLI_ENV = env_choice("LINLI_ENV", choices=ENVIRONMENTS, default="development")

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
DATA_DIR = Path(os.environ.get("LINLI_DATA_DIR", PROJECT_DIR / "data")).resolve()

DEBUG = env_bool("LINLI_DEBUG", default=False)
if DEBUG and LINLI_ENV == "production":
    raise ConfigError("LINLI_DEBUG", "must be false when LINLI_ENV=production")
TESTING = env_bool("LINLI_TESTING", default=False)

_secrets = load_secrets(DATA_DIR, generate=env_bool("LINLI_GENERATE_SECRETS", default=True))
SECRET_KEY = _secrets.secret_key
LINLI_PII_KEYS = _secrets.pii_keys
LINLI_PII_CURRENT_KEY = _secrets.pii_current_key
LINLI_BLIND_INDEX_KEY = _secrets.blind_index_key
# The audit chain's HMAC keys (id → key; the current one MACs new entries, all verify).
LINLI_AUDIT_KEYS = _secrets.audit_keys
LINLI_AUDIT_CURRENT_KEY = _secrets.audit_current_key
# Where the secrets came from and what this start generated: the key check
# (linli/core/key_check.py) names them when it refuses to start.
LINLI_SECRETS = _secrets

ALLOWED_HOSTS = env_list("LINLI_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("LINLI_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Ninja as an app: its Swagger UI is then served from our static files, not a CDN.
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "linli.core",
    "linli.geo",
    "linli.accounts",
    "linli.registry",
    "linli.fusion",
    "linli.cases",
    "linli.catalogue",
    "linli.notify",
    "linli.care",
    "linli.devices",
    "linli.demo",
    "linli.web",
    "linli.ops",
    "linli.cockpit",
    "linli.portal",
    "linli.field",
]

MIDDLEWARE = [
    "linli.ops.middleware.MetricsMiddleware",
    "linli.ops.middleware.MaintenanceMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "linli.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "linli.core.middleware.DefaultLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "linli.accounts.middleware.IdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # after auth: it needs request.user to mark signed-in responses no-store
    "linli.core.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "linli.urls"
WSGI_APPLICATION = "linli.wsgi.application"
ASGI_APPLICATION = "linli.asgi.application"

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
                "django.template.context_processors.i18n",
                "linli.notify.context_processors.bell",
            ],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'linli.sqlite3'}"
DATABASE_URL = env_database_url("LINLI_DATABASE_URL", default=_default_db)
_db: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Kept open per thread like PostgreSQL's: reopening per request re-ran the PRAGMAs and
    # threw away the 64 MiB page cache every time.
    _db["CONN_MAX_AGE"] = 60
    _db["OPTIONS"] = {
        # WAL lets the web server read while the worker writes; IMMEDIATE avoids
        # "database is locked" upgrades from read to write inside a transaction.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            " PRAGMA busy_timeout=10000; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    if LINLI_ENV == "production":
        raise ConfigError("LINLI_ENV", "production runs on PostgreSQL: set LINLI_DATABASE_URL=postgresql://… "
                                       "(SQLite is for the demo and pilots; see docs/deployment.md)")
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: it compiles any statement the planner costs above 100,000 — a case inbox over a
    # district's three million cases spent 70 ms of its 190 compiling — and short statements
    # never win it back.
    _db.setdefault("OPTIONS", {})
    if env_bool("LINLI_DATABASE_POOLED", default=False):
        # Behind PgBouncer in transaction mode: no per-connection startup options (PgBouncer
        # refuses them; set `ALTER ROLE linli SET jit = off` instead) and no server-side
        # cursors (they live in a session that transaction pooling does not keep).
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
    else:
        _db["OPTIONS"]["options"] = (_db["OPTIONS"].get("options", "") + " -c jit=off").strip()
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["linli.accounts.backends.LockoutModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

# Login throttling (linli/accounts/services.py, docs/configuration.md): failures count per
# known device, per username and source, per username (every unknown client) and per source;
# each counter past its free failures waits, doubling per further failure. Never by IP alone:
# grid workers share carrier IPs.
LINLI_LOCKOUT_FAILURES = env_int("LINLI_LOCKOUT_FAILURES", default=5, minimum=1)
LINLI_LOCKOUT_ACCOUNT_FAILURES = env_int("LINLI_LOCKOUT_ACCOUNT_FAILURES", default=20, minimum=1)
LINLI_LOCKOUT_BACKOFF_SECONDS = env_int("LINLI_LOCKOUT_BACKOFF_SECONDS", default=60, minimum=1)
LINLI_LOCKOUT_MAX_MINUTES = env_int("LINLI_LOCKOUT_MAX_MINUTES", default=60, minimum=1)
LINLI_LOCKOUT_FORGET_HOURS = env_int("LINLI_LOCKOUT_FORGET_HOURS", default=24, minimum=1)
LINLI_DEVICE_COOKIE_DAYS = env_int("LINLI_DEVICE_COOKIE_DAYS", default=180, minimum=1)
env_retired("LINLI_LOCKOUT_MINUTES", "the wait now grows per failure: LINLI_LOCKOUT_BACKOFF_SECONDS "
            "(the first wait) and LINLI_LOCKOUT_MAX_MINUTES (the longest)")
LINLI_IP_THROTTLE_PER_HOUR = env_int("LINLI_IP_THROTTLE_PER_HOUR", default=300, minimum=1)
# How many reverse proxies (nginx …) sit in front: the client IP is read from X-Forwarded-For.
LINLI_TRUSTED_PROXIES = env_int("LINLI_TRUSTED_PROXIES", default=0)
# Integration keys are cached per process this long (a revocation reaches other processes
# within it); 0 reads the key on every request. Tests read it every time.
LINLI_API_KEY_CACHE_SECONDS = env_int("LINLI_API_KEY_CACHE_SECONDS", default=0 if TESTING else 5, minimum=0)
LINLI_REGISTRY_COUNTS_SECONDS = env_int("LINLI_REGISTRY_COUNTS_SECONDS", default=0 if TESTING else 60, minimum=0)
LINLI_CASE_STATISTICS_SECONDS = env_int("LINLI_CASE_STATISTICS_SECONDS", default=0 if TESTING else 60, minimum=0)
# Cockpit base map (docs/cockpit.md): an intranet tile service ("https://tiles.example/{z}/{x}/{y}.png",
# 天地图政务版 or 高德); empty draws the registry's own geometry on a plain background. Its
# coordinate system: wgs84 (天地图 CGCS2000 ≈ WGS-84) or gcj02 (高德), converted at the map edge.
# Every map uses it (the shared base map, docs/cockpit.md); LINLI_TILE_URL is its old name, still read.
LINLI_MAP_TILE_URL = os.environ.get("LINLI_MAP_TILE_URL", "") or os.environ.get("LINLI_TILE_URL", "")
LINLI_MAP_TILE_CRS = env_choice("LINLI_MAP_TILE_CRS", choices=("wgs84", "gcj02"), default="wgs84")
# An offline tile file on this server (docs/cockpit.md#offline-tiles): a PMTiles file (vector
# or raster, read by the browser with Range requests) or a raster MBTiles file. Used when
# LINLI_MAP_TILE_URL is empty; its tiles are WGS-84 (as Protomaps and OpenMapTiles builds are).
LINLI_MAP_TILES_FILE = os.environ.get("LINLI_MAP_TILES_FILE", "")
# Staff sessions end after this many idle minutes (等保 2.0 idle logout).
LINLI_IDLE_TIMEOUT_MINUTES = env_int("LINLI_IDLE_TIMEOUT_MINUTES", default=30, minimum=1)
# The phone app's own paths, for grid workers: the app locks with a PIN after 5 idle minutes,
# so its session may last the working day (docs/field.md); 30 restores the staff rule.
LINLI_FIELD_IDLE_TIMEOUT_MINUTES = env_int("LINLI_FIELD_IDLE_TIMEOUT_MINUTES", default=600, minimum=1)
SESSION_COOKIE_AGE = env_int("LINLI_SESSION_MAX_HOURS", default=12, minimum=1) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Served over HTTPS (behind nginx with TLS): Secure cookies and HSTS (a year).
LINLI_HTTPS = env_bool("LINLI_HTTPS", default=False)
SESSION_COOKIE_SECURE = LINLI_HTTPS or env_bool("LINLI_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = 31_536_000 if LINLI_HTTPS else 0
# API request bodies (multipart uploads) above this are refused 413 before they are read.
LINLI_API_MAX_BODY_MB = env_int("LINLI_API_MAX_BODY_MB", default=50, minimum=1)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Per release in production (docs/deployment.md: each release folder collects its own), so an
# upgrade never changes the files a running process serves. Resolved: a `current` symlink
# switched later does not move this process's files.
STATIC_ROOT = Path(os.environ.get("LINLI_STATIC_ROOT") or DATA_DIR / "static").resolve()
# Front-end libraries come from npm at install time (package-lock.json), never from a CDN.
_npm = PROJECT_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/htmx", _npm / "htmx.org" / "dist"),
    ("vendor/echarts", _npm / "echarts" / "dist"),
    ("vendor/leaflet", _npm / "leaflet" / "dist"),
    ("vendor/pmtiles", _npm / "pmtiles" / "dist"),
    ("vendor/protomaps-leaflet", _npm / "protomaps-leaflet" / "dist"),
]
STATICFILES_DIRS = [(prefix, path) for prefix, path in STATICFILES_DIRS if path.exists()]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(DATA_DIR / "files")}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

TASKS = {
    "default": {
        "BACKEND": ("django_tasks.backends.immediate.ImmediateBackend" if TESTING
                    else "django_tasks_db.DatabaseBackend"),
    }
}

# Uploads (case photos, application materials): size limit; files live under DATA_DIR/files.
LINLI_UPLOAD_MAX_MB = env_int("LINLI_UPLOAD_MAX_MB", default=10, minimum=1)
# Departmental export uploads (fusion imports) may be larger than photos and materials.
LINLI_FUSION_MAX_MB = env_int("LINLI_FUSION_MAX_MB", default=100, minimum=1)
# Files holding full ID numbers (uploaded exports, rejected-rows reports) are deleted after
# this many days (linli_purge_files, daily); uploaded files and folders are private to linli.
LINLI_FILE_RETENTION_DAYS = env_int("LINLI_FILE_RETENTION_DAYS", default=30, minimum=1)
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Workbook (XLSX) limits checked before a sheet is inflated (linli/fusion/readers.py).
LINLI_IMPORT_MAX_UNZIPPED_MB = env_int("LINLI_IMPORT_MAX_UNZIPPED_MB", default=200, minimum=1)
LINLI_IMPORT_MAX_RATIO = env_int("LINLI_IMPORT_MAX_RATIO", default=150, minimum=2)
LINLI_IMPORT_MAX_ROWS = env_int("LINLI_IMPORT_MAX_ROWS", default=2_000_000, minimum=1)
LINLI_IMPORT_MAX_COLUMNS = env_int("LINLI_IMPORT_MAX_COLUMNS", default=200, minimum=1)
# Concurrent case reports of a process share one commit (linli/cases/group_commit.py).
LINLI_INTAKE_GROUP_COMMIT = env_bool("LINLI_INTAKE_GROUP_COMMIT", default=True)
# Prefix of readable case numbers (AJ-20261123-0042).
LINLI_CASE_NUMBER_PREFIX = os.environ.get("LINLI_CASE_NUMBER_PREFIX", "AJ")
# Notification channels and the relay (docs/notify.md): checked when the relay starts.
LINLI_NOTIFY = {k: v for k, v in os.environ.items() if k.startswith("LINLI_NOTIFY_")}

# Where `linli audit checkpoint` writes the signed checkpoints of the audit chain's head and
# `linli audit verify` reads them; keep copies off the server (docs/deployment.md).
LINLI_AUDIT_CHECKPOINT_DIR = Path(
    os.environ.get("LINLI_AUDIT_CHECKPOINT_DIR", DATA_DIR / "audit-checkpoints")).resolve()

# The old name of LINLI_MAP_TILE_URL (one setting for every map now).
LINLI_TILE_URL = LINLI_MAP_TILE_URL

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LINLI_LOG_LEVEL", "INFO")},
}

# --- processes and operations (linli.ops; docs/deployment.md) ----------------------------
# What `linli serve` runs and what the connection budget check (linli.W010) counts:
# every web thread and every task worker may hold one PostgreSQL connection.
LINLI_WEB_WORKERS = env_int("LINLI_WEB_WORKERS", default=1, minimum=1)
LINLI_WEB_THREADS = env_int("LINLI_WEB_THREADS", default=min(32, 8 * (os.cpu_count() or 1)), minimum=1)
LINLI_TASK_WORKERS = env_int("LINLI_TASK_WORKERS", default=1, minimum=0)
# Connections a web process keeps open at most (idle keep-alive ones included) and how long
# a client may take to send a request's headers (also the keep-alive idle limit).
LINLI_WEB_MAX_CONNECTIONS = env_int("LINLI_WEB_MAX_CONNECTIONS", default=1024, minimum=1)
LINLI_WEB_HEADER_TIMEOUT = env_int("LINLI_WEB_HEADER_TIMEOUT", default=10, minimum=1)
LINLI_ACCESS_LOG = env_bool("LINLI_ACCESS_LOG", default=False)
# The cockpit's live event streams (`linli live`, linli/cockpit/live.py): where that process
# listens, how many streams it holds, and the URL the page opens. Empty URL: the same host
# on LINLI_LIVE_PORT over plain HTTP (linli demo), or /live/cockpit/ on an HTTPS page (nginx
# routes /live/ to the process; deploy/nginx/linli.conf).
LINLI_LIVE_HOST = os.environ.get("LINLI_LIVE_HOST", "127.0.0.1")
LINLI_LIVE_PORT = env_int("LINLI_LIVE_PORT", default=8010, minimum=1)
LINLI_LIVE_MAX_STREAMS = env_int("LINLI_LIVE_MAX_STREAMS", default=4000, minimum=1)
LINLI_LIVE_URL = os.environ.get("LINLI_LIVE_URL", "")
# Trust `X-Forwarded-Proto: https` from the reverse proxy (nginx sets it): request.is_secure(),
# absolute URLs (Open311) and secure redirects then say https. Only behind a proxy that
# overwrites the header.
if env_bool("LINLI_PROXY_HTTPS_HEADER", default=LINLI_HTTPS):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A task worker writes a heartbeat this often; a running task whose worker has not been
# seen for LINLI_TASK_LEASE_SECONDS (or whose process is gone) is lost and recovered.
LINLI_WORKER_HEARTBEAT_SECONDS = env_int("LINLI_WORKER_HEARTBEAT_SECONDS", default=10, minimum=1)
LINLI_TASK_LEASE_SECONDS = env_int("LINLI_TASK_LEASE_SECONDS", default=60, minimum=2)
LINLI_TASK_MAX_ATTEMPTS = env_int("LINLI_TASK_MAX_ATTEMPTS", default=3, minimum=1)
# /healthz: a ready task older than this, or less free disk than this, is a failure.
LINLI_HEALTH_QUEUE_AGE_SECONDS = env_int("LINLI_HEALTH_QUEUE_AGE_SECONDS", default=300, minimum=1)
LINLI_HEALTH_MIN_FREE_MB = env_int("LINLI_HEALTH_MIN_FREE_MB", default=1024, minimum=0)
# /metrics answers only with `Authorization: Bearer <token>`; empty: /metrics is off (404).
LINLI_METRICS_TOKEN = os.environ.get("LINLI_METRICS_TOKEN", "")
# The maintenance switch (`linli upgrade` sets it during migrations that need it): while the
# file exists every page but /healthz answers 503 with the maintenance page.
LINLI_MAINTENANCE_FILE = Path(os.environ.get("LINLI_MAINTENANCE_FILE") or DATA_DIR / "maintenance.on")
# Optional log file (besides stderr), reopened when logrotate moves it.
LINLI_LOG_FILE = os.environ.get("LINLI_LOG_FILE", "")
if LINLI_LOG_FILE:
    LOGGING["handlers"]["file"] = {"class": "logging.handlers.WatchedFileHandler",
                                   "filename": LINLI_LOG_FILE, "formatter": "plain"}
    LOGGING["root"]["handlers"].append("file")

# MQTT broker of the devices ingestor (docs/devices.md). A fixed client id and a persistent
# session: the broker keeps QoS 1 messages for us while the ingestor is down.
LINLI_MQTT_HOST = os.environ.get("LINLI_MQTT_HOST", "127.0.0.1")
LINLI_MQTT_PORT = env_int("LINLI_MQTT_PORT", default=1883, minimum=1)
LINLI_MQTT_TLS = env_bool("LINLI_MQTT_TLS", default=False)
LINLI_MQTT_USERNAME = os.environ.get("LINLI_MQTT_USERNAME", "")
LINLI_MQTT_PASSWORD = os.environ.get("LINLI_MQTT_PASSWORD", "")
LINLI_MQTT_CLIENT_ID = os.environ.get("LINLI_MQTT_CLIENT_ID", "linli-ingest")
# Device readings (the ingestor's inbox and each device's history) older than this many days
# are deleted by the devices sweep (docs/devices.md); 0 keeps them for ever. Alarms, their
# cases and dead letters are kept.
LINLI_DEVICE_READINGS_DAYS = env_int("LINLI_DEVICE_READINGS_DAYS", default=180, minimum=0)
# Absence rule by the elder's care colour (三色等级, linli.care): a door contact of a red elder
# becomes a welfare check after 12 h without an opening, yellow 18 h, green 24 h. A level only
# shortens the device's own ``absence_hours``; an elder without a level keeps the device's.
LINLI_DEVICE_ABSENCE_HOURS_BY_COLOUR = {
    "red": env_int("LINLI_DEVICE_ABSENCE_HOURS_RED", default=12, minimum=1),
    "yellow": env_int("LINLI_DEVICE_ABSENCE_HOURS_YELLOW", default=18, minimum=1),
    "green": env_int("LINLI_DEVICE_ABSENCE_HOURS_GREEN", default=24, minimum=1),
}
