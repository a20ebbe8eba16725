"""Dialer backends: what places a call. Chosen by ``LEADS_DIALER["BACKEND"]``.

A backend places one call (or raises ``DialError`` when the call never reached the
provider) and may report outcomes itself (the simulated one does; a real platform
reports through the outcome webhook instead). Both sides of the webhook are signed
as the Standard Webhooks specification says, with the ``standardwebhooks`` package.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from leads.models import Call
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


def get_backend() -> Backend:
    # Imported here: the backends import this module's DialError and Placed.
    from .http import HttpBackend
    from .simulated import SimulatedBackend

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
