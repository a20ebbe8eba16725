"""System checks of the limits in settings (``manage.py check``): a limit a request or
the task worker would trip over (a batch of 0 rows, a negative file size) stops the
site at start-up with the setting's name, rather than failing the first import.

One table for every app's limits, here rather than beside each owner: each is the same
check (a whole number with a least value), and one table is one place to add the next.
The site's default country is checked here too. The dialer's settings are checked in
leads.dialer.checks, by building the backend."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django.conf import settings
from django.core.checks import Error, register

TAG = "leadsite"

# Each limit and the least it may be: 1 for a size or a count that something must fit
# in, 0 for a threshold above which work takes another route (0: always that route).
LIMITS = {
    "LEADS_IMPORT_MAX_BYTES": 1,
    "LEADS_IMPORT_MAX_ROWS": 1,
    "LEADS_IMPORT_MAX_COLUMNS": 1,
    "LEADS_IMPORT_MAX_XLSX_UNPACKED": 1,
    "LEADS_IMPORT_BATCH_ROWS": 1,
    "LEADS_IMPORT_WRITERS": 1,
    "LEADS_IMPORT_PARALLEL_ABOVE": 0,
    "LEADS_IMPORT_BACKGROUND_ABOVE": 0,
    "LEADS_WEBHOOK_MAX_BYTES": 1,
    "LEADS_EXPORT_IN_MEMORY_MAX": 0,
    "LEADS_ACTION_SKIPS_INLINE_MAX": 0,
    "LEADS_ACTION_SKIPS_SECONDS": 1,
}


@register(TAG)
def check_limits(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    for name, least in LIMITS.items():
        value = getattr(settings, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value >= least:
            continue
        errors.append(
            Error(
                f"{name} must be a whole number of {least} or more, not {value!r}.",
                hint=f"Set {name} (in the environment or leadsite/settings) to a whole number of {least} or more; "
                "leadsite/settings/base.py says what it limits.",
                id="leadsite.E004",
            )
        )
    return errors


@register(TAG)
def check_default_country(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    value = getattr(settings, "LEADS_DEFAULT_COUNTRY", "")
    if value == "" or (isinstance(value, str) and value in phonenumbers.SUPPORTED_REGIONS):
        return []
    return [
        Error(
            f"LEADS_DEFAULT_COUNTRY must be a two-letter country code (e.g. US, GB, DE) or empty, not {value!r}.",
            hint="Set LEADS_DEFAULT_COUNTRY (in the environment or leadsite/settings) to the country numbers "
            "typed without + are read in, or leave it empty so that they must be international.",
            id="leadsite.E005",
        )
    ]
