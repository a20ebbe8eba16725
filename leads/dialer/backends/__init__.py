"""Dialer backends: what places a call. Chosen by ``LEADS_DIALER["BACKEND"]``, the
dotted path of a backend class (as Django chooses its e-mail backend), or one of the
short names in ALIASES that existing environments set.

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
from django.utils.module_loading import import_string

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

    @classmethod
    def from_settings(cls, options: dict[str, Any]) -> Backend:
        """The backend ``LEADS_DIALER`` (``options``) configures; ImproperlyConfigured
        when they do not make a usable one."""
        ...

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


# The short names LEADS_DIALER_BACKEND took before dotted paths, still accepted.
ALIASES = {
    "simulated": "leads.dialer.backends.simulated.SimulatedBackend",
    "http": "leads.dialer.backends.http.HttpBackend",
}


def backend_class() -> type[Backend]:
    """The class ``LEADS_DIALER["BACKEND"]`` names."""
    name = dialer_settings().get("BACKEND", "simulated")
    try:
        found = import_string(ALIASES.get(name, name))
    except (ImportError, TypeError, AttributeError) as error:
        raise ImproperlyConfigured(
            f"LEADS_DIALER BACKEND must be 'simulated' or 'http', or the dotted path of a backend class, "
            f"not {name!r} ({error})."
        ) from None
    if not callable(getattr(found, "from_settings", None)):
        raise ImproperlyConfigured(
            f"LEADS_DIALER BACKEND {name!r} is not a dialer backend: it has no from_settings(options)."
        )
    return found


def get_backend() -> Backend:
    """The backend the settings configure, built by its class from its own options."""
    return backend_class().from_settings(dialer_settings())
