"""The generic http backend: a signed JSON call request to a voice-AI platform, whose
outcome comes back through the webhook."""

from __future__ import annotations

import datetime
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from leads.models import Call
from leads.transitions import Report

from ..signing import signed_headers, signer
from . import DialError, Placed


class HttpBackend:
    """POSTs a signed JSON call request to the voice-AI platform; the platform reports
    the outcome to the webhook. Anything but a 2xx answer in time is a dial error."""

    name = "http"

    @classmethod
    def from_settings(cls, options: dict[str, Any]) -> HttpBackend:
        return cls(
            url=options.get("URL", ""),
            callback_base_url=options.get("CALLBACK_BASE_URL", ""),
            timeout=options.get("TIMEOUT", 10.0),
        )

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
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ImproperlyConfigured(
                f"LEADS_DIALER_TIMEOUT: the seconds a call request may take, more than 0, not {timeout!r}."
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
