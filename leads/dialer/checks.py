"""System checks of the dialer's settings (``manage.py check``; ``--deploy`` adds the
production ones). Each reads the settings through the code that uses them
(``leads.dialer.backends``), so what passes here is what the dialer and the webhook run."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from .backends import backend_class, dialer_settings, get_backend
from .signing import webhook_key

TAG = "leadsite"


@register(TAG)
def check_webhook_secret(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """A LEADS_WEBHOOK_SECRET that is set must be usable, whatever the backend: the
    outcome webhook verifies with it in every mode. Empty means the development
    default (derived from SECRET_KEY); --deploy refuses that with the http backend."""
    secret = dialer_settings().get("WEBHOOK_SECRET") or ""
    if not secret:
        return []
    try:
        webhook_key(secret)
    except ImproperlyConfigured as problem:
        return [
            Error(
                str(problem),
                hint="Set LEADS_WEBHOOK_SECRET to whsec_ followed by the base64 of 24 or more "
                "random bytes, the same secret the voice-AI platform has.",
                id="leadsite.E001",
            )
        ]
    return []


@register(TAG)
def check_dialer_backend(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """The backend the dialer would build from these settings (its name, the http
    address, the simulated odds): the same errors run_dialer stops with."""
    if check_webhook_secret():
        return []  # the http backend would stop at the secret: leadsite.E001 says so
    try:
        get_backend()
    except ImproperlyConfigured as problem:
        return [Error(str(problem), id="leadsite.E002")]
    return []


@register(TAG, deploy=True)
def check_deployed_webhook_secret(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """A deployment with the http backend signs with its own secret, never one derived
    from SECRET_KEY (which the platform could not be given without giving it that)."""
    from .backends.http import HttpBackend

    try:
        signs = issubclass(backend_class(), HttpBackend)
    except (ImproperlyConfigured, TypeError):
        return []  # no backend at all: leadsite.E002 says so
    if signs and not dialer_settings().get("WEBHOOK_SECRET"):
        return [
            Error(
                "LEADS_WEBHOOK_SECRET must be set for the http dialer backend.",
                hint="whsec_ followed by the base64 of 24 or more random bytes.",
                id="leadsite.E003",
            )
        ]
    return []
