"""Production: every secret and host comes from the environment, and the dialer
backend is named there; refuses to start without them. ``DJANGO_SETTINGS_MODULE=leadsite.settings.production manage.py check
--deploy`` passes."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import database_from_env, env_bool

DEBUG = False
if len(SECRET_KEY) < 50:  # noqa: F405
    raise ImproperlyConfigured("SECRET_KEY must be set to a random string of 50+ characters.")
if not ALLOWED_HOSTS:  # noqa: F405
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names the site answers to.")

# Persistent connections: a server thread keeps its database connection for a minute
# (CONN_MAX_AGE overrides), checked before reuse. Each worker thread holds one: keep
# the server's workers x threads (plus the dialer and task worker) under PostgreSQL's
# max_connections (100 by default).
DATABASES = {"default": database_from_env(conn_max_age=60)}

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Behind a TLS-terminating proxy, set SECURE_PROXY_SSL_HEADER=1 so Django trusts its
# X-Forwarded-Proto header.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# No fallback here: the simulated backend invents outcomes, which would move real
# leads as if they had been called. A deployment says which it means.
if not os.environ.get("LEADS_DIALER_BACKEND"):
    raise ImproperlyConfigured(
        "LEADS_DIALER_BACKEND must be set: http to call through the voice-AI platform, "
        "or simulated (invents every outcome: demos only)."
    )
# The http backend by its short name or its dotted path (leads.dialer.backends.ALIASES);
# leadsite.E003 (check --deploy) holds any subclass of it to the same.
if LEADS_DIALER["BACKEND"] in ("http", "leads.dialer.backends.http.HttpBackend") and not LEADS_DIALER["WEBHOOK_SECRET"]:  # noqa: F405
    raise ImproperlyConfigured(
        "LEADS_WEBHOOK_SECRET must be set (whsec_ + the base64 of 24+ random bytes) for the http dialer backend."
    )
