"""Settings shared by every mode. Everything that differs per machine comes from the
environment, so one code base serves a laptop, CI and production."""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Django's admin, with the site-wide settings of leadsite/admin.py's configure_site.
    "leadsite.apps.LeadsiteAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "import_export",
    "django_filters",
    "axes",
    "campaigns",
    "leads",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one
# user name from one address, that pair is refused (even with the right password)
# for AXES_COOLOFF_MINUTES; a successful login clears its count. The pair, not the
# address alone, so an office behind one address is not locked out by one person,
# and not the user name alone, so a stranger cannot lock an operator out from
# elsewhere. Unlock early: `manage.py axes_reset_username NAME` (README, Permissions).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair before checking the password
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=float(os.environ.get("AXES_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "leadsite.lockout.lockout_response"
# Failures and lockouts are still logged; this only drops the banner every command printed.
AXES_VERBOSE = False

ROOT_URLCONF = "leadsite.urls"

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

WSGI_APPLICATION = "leadsite.wsgi.application"


def database_from_env(conn_max_age: int = 0) -> dict:
    """DATABASE_URL when set (PostgreSQL in real deployments), else a local SQLite file.

    Each server thread keeps its database connection CONN_MAX_AGE seconds (env
    override; 0 closes it at the end of every request, as in development and tests),
    checked before a request reuses it (CONN_HEALTH_CHECKS): opening a PostgreSQL
    connection costs more than a webhook's whole transaction. Long-running commands
    (the dialer, the task worker) keep theirs either way.

    SQLite is shared by the web server, the task worker and the dialer, which are
    separate processes: WAL lets readers proceed while one writes, the busy timeout
    makes a writer wait instead of failing, and IMMEDIATE transactions take the write
    lock at BEGIN so two writers cannot deadlock upgrading read locks.
    """
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=env_int("CONN_MAX_AGE", conn_max_age), conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


DATABASES = {"default": database_from_env()}
# The error page (DEBUG on) and error e-mails blank the password of any URL with
# credentials, e.g. DATABASE_URL, which runserver puts in request.META.
DEFAULT_EXCEPTION_REPORTER_FILTER = "leadsite.debug.ExceptionReporterFilter"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The site's timezone: the calling window falls back to it when neither the lead, the
# campaign nor the assistant names one.
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# Every date and time shown names its zone (leadsite/formats/en/formats.py).
FORMAT_MODULE_PATH = ["leadsite.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# Lead imports: the largest file and the most rows one import takes.
LEADS_IMPORT_MAX_BYTES = int(os.environ.get("LEADS_IMPORT_MAX_BYTES", 50 * 1024 * 1024))
LEADS_IMPORT_MAX_ROWS = int(os.environ.get("LEADS_IMPORT_MAX_ROWS", 1_000_000))
# The most columns a file may have; a wider one is refused at upload, before it is read
# whole. 500 holds the widest layout a campaign uses with room to spare: the phone, 40
# variables, 10 secondary numbers each with its own 40 variables, the time zone and
# the 7 columns an export adds (459).
LEADS_IMPORT_MAX_COLUMNS = int(os.environ.get("LEADS_IMPORT_MAX_COLUMNS", 500))
# Files with more rows than this are validated by one process per core.
LEADS_IMPORT_PARALLEL_ABOVE = int(os.environ.get("LEADS_IMPORT_PARALLEL_ABOVE", 20_000))
# Rows validated and written per batch; each batch is one transaction.
LEADS_IMPORT_BATCH_ROWS = int(os.environ.get("LEADS_IMPORT_BATCH_ROWS", 5000))
# Batches written side by side on PostgreSQL, each on its own connection (about one
# per core the database has; 1 writes them one after another).
LEADS_IMPORT_WRITERS = int(os.environ.get("LEADS_IMPORT_WRITERS", 2))
# An XLSX is a zip: one that unpacks past this is refused unread (a "zip bomb"). Ten
# times the largest file: a spreadsheet's XML deflates 5-10 times.
LEADS_IMPORT_MAX_XLSX_UNPACKED = int(os.environ.get("LEADS_IMPORT_MAX_XLSX_UNPACKED", 10 * LEADS_IMPORT_MAX_BYTES))
# Files with this many bytes to read (a workbook's unzipped, not its zip's) are
# validated and imported by the task worker, with a progress bar; smaller ones right
# away. Requests read a file's header and first rows only.
LEADS_IMPORT_BACKGROUND_ABOVE = int(os.environ.get("LEADS_IMPORT_BACKGROUND_ABOVE", 256 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# The country (two letters, e.g. US) a number typed without + is read in where no
# campaign says (the do-not-call list's form); empty: such numbers must be
# international. leads.checks refuses a code libphonenumber does not know.
LEADS_DEFAULT_COUNTRY = os.environ.get("LEADS_DEFAULT_COUNTRY", "").strip().upper()

# Background work goes through Django's tasks API; the database backend needs no
# extra server (``manage.py db_worker`` runs it). Another backend is a settings change.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# The admin's action forms post the ids of a page (100 leads) at most; "select all"
# posts a flag, never the ids, so this stays small.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The dialer (leads.dialer.passes, `manage.py run_dialer`). BACKEND "simulated" calls
# nobody and resolves each call after a realistic duration; "http" POSTs a signed
# call request to the voice-AI platform at URL, which reports outcomes to
# /hooks/calls/<call id>/ (CALLBACK_BASE_URL is this site's address as the platform
# reaches it). Both directions are signed with WEBHOOK_SECRET ("whsec_" + the base64
# of at least 24 random bytes, Standard Webhooks; leads.dialer.checks refuses any other).
# Production has no default BACKEND: LEADS_DIALER_BACKEND must be set there.
LEADS_DIALER = {
    "BACKEND": os.environ.get("LEADS_DIALER_BACKEND", "simulated"),
    "URL": os.environ.get("LEADS_DIALER_URL", ""),
    "TIMEOUT": float(os.environ.get("LEADS_DIALER_TIMEOUT", 10)),
    "CALLBACK_BASE_URL": os.environ.get("LEADS_CALLBACK_BASE_URL", "http://127.0.0.1:8000"),
    "WEBHOOK_SECRET": os.environ.get("LEADS_WEBHOOK_SECRET", ""),
    "SIMULATED": {
        "SEED": os.environ.get("LEADS_SIMULATED_SEED") or None,
        # Outcome odds, relative weights overriding leads.dialer.backends.DEFAULT_ODDS
        # (e.g. {"busy": 0}); the chance an answered call achieves its goal; of the
        # answered calls that do not, the chance the callee opts out and, of the rest,
        # the chance they ask to be called back (leads.dialer.backends.simulated).
        "ODDS": {},
        "GOAL_ODDS": 0.5,
        "OPT_OUT_ODDS": 0.05,
        "CALLBACK_ODDS": 0.15,
        "DIAL_ERROR_ODDS": float(os.environ.get("LEADS_SIMULATED_DIAL_ERROR_ODDS", 0)),
        # 1.0: calls last as long as real ones (20 s to 4 min); the demo speeds them up.
        "DURATION_SCALE": float(os.environ.get("LEADS_SIMULATED_DURATION_SCALE", 1.0)),
    },
}
# Largest outcome webhook body accepted: 1 MB, so that a long call's transcript fits
# (results-and-compliance.md §1).
LEADS_WEBHOOK_MAX_BYTES = 1024 * 1024
# An XLSX export of at most this many leads is built in the request, by
# django-import-export's own export; a larger one by the task worker.
LEADS_EXPORT_IN_MEMORY_MAX = int(os.environ.get("LEADS_EXPORT_IN_MEMORY_MAX", 5000))
# A bulk action's confirmation page counts what it will skip in the page for a
# selection of at most this many leads; a larger one gets the page as fast as its
# count, and the skips follow in a second request, given at most
# LEADS_ACTION_SKIPS_SECONDS on PostgreSQL (the rules that read each lead's numbers
# take seconds over a million leads).
LEADS_ACTION_SKIPS_INLINE_MAX = int(os.environ.get("LEADS_ACTION_SKIPS_INLINE_MAX", 10_000))
LEADS_ACTION_SKIPS_SECONDS = int(os.environ.get("LEADS_ACTION_SKIPS_SECONDS", 20))
