"""Signing both directions of the call webhook as the Standard Webhooks specification
says, with the ``standardwebhooks`` package: call requests out, outcome reports in."""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from standardwebhooks.webhooks import Webhook

from .backends import dialer_settings

SECRET_PREFIX = "whsec_"
# The Standard Webhooks specification: a symmetric signing secret is "random, at
# least 24 bytes (192 bits)". A shorter key can be guessed from one signed message.
MIN_SECRET_BYTES = 24


def webhook_secret() -> str:
    """The Standard Webhooks secret ("whsec_" + base64) both directions are signed with."""
    secret = dialer_settings().get("WEBHOOK_SECRET") or ""
    if not secret:
        # A development default tied to SECRET_KEY, so a demo needs no setup;
        # production settings require LEADS_WEBHOOK_SECRET.
        digest = hashlib.sha256(f"leadsite-webhooks:{settings.SECRET_KEY}".encode()).digest()
        secret = SECRET_PREFIX + base64.b64encode(digest).decode()
    return secret


def webhook_key(secret: str) -> bytes:
    """The signing key a secret holds: "whsec_" + base64 of at least 24 bytes, else
    ImproperlyConfigured saying what is wrong. The system check (leads.dialer.checks),
    the dialer and the webhook all read the secret through this one function, so a
    secret the check passes is one they can use.

    Stricter than the standardwebhooks package, which reads a secret without the
    prefix, skips characters that are not base64 and accepts a key of one byte.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ImproperlyConfigured(
            f"LEADS_WEBHOOK_SECRET must be {SECRET_PREFIX!r} followed by base64 (Standard Webhooks)."
        )
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        # The padding may be left out, as the standard's libraries allow.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ImproperlyConfigured(f"LEADS_WEBHOOK_SECRET: what follows {SECRET_PREFIX!r} is not base64.") from None
    if len(key) < MIN_SECRET_BYTES:
        raise ImproperlyConfigured(
            f"LEADS_WEBHOOK_SECRET holds a key of {len(key)} bytes; it needs at least {MIN_SECRET_BYTES} random "
            f"bytes (e.g. {SECRET_PREFIX}$(openssl rand -base64 32))."
        )
    return key


def signer() -> Webhook:
    """Signs and verifies with the configured secret; ImproperlyConfigured when it is unusable."""
    return Webhook(webhook_key(webhook_secret()))


def signed_headers(message_id: str, body: str, *, now: datetime.datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer().sign(message_id, now, body),
    }
