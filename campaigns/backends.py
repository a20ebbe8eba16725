"""Dialer backends: what places a call. Chosen by ``LEADS_DIALER["BACKEND"]``.

A backend places one call (or raises ``DialError`` when the call never reached the
provider) and may report outcomes itself (the simulated one does; a real platform
reports through the outcome webhook instead). Both sides of the webhook are signed
as the Standard Webhooks specification says, with the ``standardwebhooks`` package.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import http.client
import json
import random
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from standardwebhooks.webhooks import Webhook

from leads.models import Call, CallOutcome
from leads.transitions import Report


class DialError(Exception):
    """The call never reached the provider (refused, timed out, answered with an error)."""


@dataclass(frozen=True)
class Placed:
    provider_call_id: str = ""
    backend_data: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    name: str

    def place(self, call: Call, *, now: datetime.datetime) -> Placed:
        """Place one call; raise DialError if it never reached the provider. Runs in a
        thread beside the others of a pass: it talks to the platform, never to the
        database."""
        ...

    def reports(self, calls: Iterable[Call], *, now: datetime.datetime) -> Iterator[tuple[Call, Report]]:
        """Outcomes this backend resolves itself, for calls in flight."""
        ...


def dialer_settings() -> dict[str, Any]:
    return settings.LEADS_DIALER


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
    ImproperlyConfigured saying what is wrong. The system check (campaigns.checks),
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


# --- simulated -------------------------------------------------------------------------

# Odds of each outcome, and how long each kind of call lasts (seconds, low..high).
DEFAULT_ODDS = {"completed": 35, "voicemail": 15, "no-answer": 30, "busy": 10, "failed": 5, "invalid-number": 5}
DURATIONS = {
    "completed": (40, 240),
    "voicemail": (20, 45),
    "no-answer": (25, 40),
    "busy": (3, 8),
    "failed": (1, 5),
    "invalid-number": (1, 4),
}


class SimulatedBackend:
    """Calls nobody: each call's outcome, duration and goal are drawn when it is
    placed (from the seed, the lead, the number and the attempt, so a seeded run is
    the same every time) and reported once that duration has passed."""

    name = "simulated"

    def __init__(
        self,
        *,
        seed: int | str | None = None,
        odds: dict[str, float] | None = None,
        goal_odds: float = 0.5,
        dial_error_odds: float = 0.0,
        duration_scale: float = 1.0,
    ):
        self.seed = seed if seed is not None else random.randrange(2**32)
        self.odds = {**DEFAULT_ODDS, **(odds or {})}
        unknown = set(self.odds) - set(DEFAULT_ODDS)
        if unknown:
            raise ImproperlyConfigured(f"LEADS_DIALER SIMULATED ODDS: unknown outcomes {sorted(unknown)}")
        weights = list(self.odds.values())
        if not all(isinstance(w, int | float) and not isinstance(w, bool) and w >= 0 for w in weights) or not sum(
            weights
        ):
            raise ImproperlyConfigured("LEADS_DIALER SIMULATED ODDS: weights are numbers of 0 or more, not all 0.")
        for name, value in (("GOAL_ODDS", goal_odds), ("DIAL_ERROR_ODDS", dial_error_odds)):
            if not 0 <= value <= 1:
                raise ImproperlyConfigured(f"LEADS_DIALER SIMULATED {name}: a chance from 0 to 1, not {value}.")
        if not duration_scale > 0:
            raise ImproperlyConfigured(f"LEADS_DIALER SIMULATED DURATION_SCALE: more than 0, not {duration_scale}.")
        self.goal_odds, self.dial_error_odds, self.duration_scale = goal_odds, dial_error_odds, duration_scale

    def place(self, call: Call, *, now: datetime.datetime) -> Placed:
        draw = random.Random(f"{self.seed}:{call.lead_id}:{call.position}:{call.attempt}")
        if draw.random() < self.dial_error_odds:
            raise DialError("simulated dial error")
        outcome = draw.choices(list(self.odds), weights=list(self.odds.values()))[0]
        low, high = DURATIONS[outcome]
        duration = draw.uniform(low, high)
        goal = outcome == CallOutcome.COMPLETED and draw.random() < self.goal_odds
        # The call is reported after its duration times the scale (a demo runs
        # faster than life); the report states the unscaled duration.
        ends_at = now + datetime.timedelta(seconds=duration * self.duration_scale)
        return Placed(
            provider_call_id=f"sim-{call.pk.hex[:12]}",
            backend_data={
                "outcome": outcome,
                "duration": round(duration),
                "goal": goal,
                "ends_at": ends_at.isoformat(),
            },
        )

    def reports(self, calls: Iterable[Call], *, now: datetime.datetime) -> Iterator[tuple[Call, Report]]:
        for call in calls:
            plan = call.backend_data
            if call.backend != self.name or "ends_at" not in plan:
                continue
            if datetime.datetime.fromisoformat(plan["ends_at"]) > now:
                continue
            goal_name = call.campaign.goal_completion_variable
            answered = plan["outcome"] == CallOutcome.COMPLETED
            yield (
                call,
                Report(
                    outcome=plan["outcome"],
                    duration_seconds=plan["duration"],
                    goal_achieved=plan["goal"] if answered else None,
                    extracted_variables={goal_name: plan["goal"]} if answered and goal_name else {},
                    summary="Simulated call." if answered else "",
                ),
            )


# --- http ------------------------------------------------------------------------------


class HttpBackend:
    """POSTs a signed JSON call request to the voice-AI platform; the platform reports
    the outcome to the webhook. Anything but a 2xx answer in time is a dial error."""

    name = "http"

    def __init__(self, *, url: str, callback_base_url: str, timeout: float = 10.0):
        try:
            parts = urlsplit(url)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:  # e.g. an unclosed [IPv6 address
            usable = False
        if not usable:
            raise ImproperlyConfigured(
                f"The http dialer backend needs LEADS_DIALER_URL, an http(s) address, not {url!r}."
            )
        # Every call request is signed: an unusable secret stops the dialer at start,
        # rather than making every call a dial error.
        signer()
        self.url, self.callback_base_url, self.timeout = url, callback_base_url.rstrip("/"), timeout

    def request_body(self, call: Call) -> dict[str, Any]:
        return {
            "call_id": str(call.pk),
            "campaign": {"id": call.campaign_id, "name": call.campaign.name},
            "lead_id": call.lead_id,
            "number": call.phone,
            "variables": call.variables,
            "callback_url": self.callback_base_url + reverse("call_outcome", args=[call.pk]),
        }

    def place(self, call: Call, *, now: datetime.datetime) -> Placed:
        body = json.dumps(self.request_body(call), separators=(",", ":"))
        headers = {"Content-Type": "application/json", **signed_headers(f"msg_call_{call.pk.hex}", body, now=now)}
        request = urllib.request.Request(self.url, data=body.encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read(64 * 1024)
        except urllib.error.HTTPError as error:
            raise DialError(f"the platform answered HTTP {error.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException, ValueError) as error:
            # Refused, timed out, cut off half-way, or an address urllib cannot use.
            reason = getattr(error, "reason", error)
            raise DialError(f"the platform could not be reached: {reason}") from None
        provider_id = ""
        try:
            parsed = json.loads(answer or b"{}")
            if isinstance(parsed, dict) and isinstance(parsed.get("id"), str):
                provider_id = parsed["id"][:200]
        except ValueError:
            pass  # a 2xx without JSON is still a placed call
        return Placed(provider_call_id=provider_id)

    def reports(self, calls: Iterable[Call], *, now: datetime.datetime) -> Iterator[tuple[Call, Report]]:
        return iter(())


def get_backend() -> Backend:
    options = dialer_settings()
    name = options.get("BACKEND", "simulated")
    if name == "simulated":
        simulated = options.get("SIMULATED", {})
        return SimulatedBackend(
            seed=simulated.get("SEED"),
            odds=simulated.get("ODDS"),
            goal_odds=simulated.get("GOAL_ODDS", 0.5),
            dial_error_odds=simulated.get("DIAL_ERROR_ODDS", 0.0),
            duration_scale=simulated.get("DURATION_SCALE", 1.0),
        )
    if name == "http":
        return HttpBackend(
            url=options.get("URL", ""),
            callback_base_url=options.get("CALLBACK_BASE_URL", ""),
            timeout=options.get("TIMEOUT", 10.0),
        )
    raise ImproperlyConfigured(f"LEADS_DIALER BACKEND must be 'simulated' or 'http', not {name!r}.")
