"""A lead's consent to be called (results-and-compliance.md §5), as people write it: the
level, when it was given, where, and its certificate. One set of rules for the lead
form and the import, so that whatever one accepts the other reads back.

Decisions (the README repeats them):

- Levels are ``none``, ``express``, ``express-written`` and ``existing-relationship``.
  A file may spell them in any case, with spaces, ``_`` or ``-`` between the words,
  or as the form labels them ("Express written", "Existing business relationship",
  "None recorded"); "EBR" is the existing business relationship. Anything else
  ("yes", "true", "opt-in") is refused: which level it means cannot be told.
- ``consent_at`` is an ISO 8601 date and time (``2026-03-01 14:30``, with ``T`` or a
  space, seconds optional) or a date alone (the start of that day). With an offset
  (``+01:00``, ``Z``) it is that instant; without one it is read in the site's time
  zone (the export always writes the offset). It may not be later than now (a few
  minutes of leeway for another system's clock) nor before 1970-01-01: a later one is
  a typo or a wrong zone, an earlier one a spreadsheet's zero date (1899-12-30) or a
  typo'd year.
- ``consent_certificate`` is an http(s) address (``javascript:``, ``data:`` and others
  are refused; one typed without a scheme gets ``https://``).
- ``consent_source`` is plain text (a URL is text too), always shown escaped.
- Both texts hold at most 1,000 characters, the import's limit for every value, so a
  lead saved by the form exports and imports back unchanged.
"""

from __future__ import annotations

import datetime
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.models import Consent
from leads.layout import CONSENT_COLUMNS
from leads.variables import MAX_VALUE_LENGTH

# The lead's fields, which are also the files' columns of the same names.
CONSENT_FIELDS = CONSENT_COLUMNS
MAX_CONSENT_TEXT = MAX_VALUE_LENGTH
EARLIEST = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
# Another system's clock may run a little ahead of ours.
CLOCK_LEEWAY = datetime.timedelta(minutes=5)
# How much of a refused value a message repeats.
SHOWN = 40

_SEPARATORS = re.compile(r"[\s_\-]+")


def _spelling(text: str) -> str:
    return _SEPARATORS.sub("-", text.strip().lower()).strip("-")


LEVEL_SPELLINGS: dict[str, str] = {
    **{_spelling(level.value): level.value for level in Consent},
    **{_spelling(level.label): level.value for level in Consent},
    "ebr": Consent.EXISTING_RELATIONSHIP.value,
    "established-business-relationship": Consent.EXISTING_RELATIONSHIP.value,
}

LEVELS_HELP = (
    "<b>None recorded</b>: no consent on file. "
    "<b>Express</b>: the person agreed to be called at this number (for example by giving it to be called "
    "back). "
    "<b>Express written</b>: a written (also electronic, e.g. a web form's signed consent) agreement to "
    "receive these calls, what marketing calls with an artificial voice need under US rules; its "
    "certificate below. "
    "<b>Existing business relationship</b>: a customer or a recent enquiry; it satisfies no campaign that "
    "requires consent. "
    "A campaign that requires consent never dials a lead without it (express written satisfies express)."
)


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def parse_level(text: str) -> str:
    """The consent level ``text`` spells (see the module), or ValueError saying why not."""
    level = LEVEL_SPELLINGS.get(_spelling(text))
    if level is None:
        raise ValueError(f"“{_shown(text)}” is not one of {', '.join(Consent.values)}")
    return level


def check_consent_at(moment: datetime.datetime, *, now: datetime.datetime | None = None) -> None:
    """Refuse (ValueError) a consent time that is later than now or before 1970."""
    now = now or timezone.now()
    # The year first: a date near year 1 or 9999 cannot be moved to UTC to compare.
    if moment.year < EARLIEST.year or moment < EARLIEST:
        raise ValueError("is before 1970: check the year (a spreadsheet's empty date shows as 1899 or 1900)")
    if moment.year > now.year + 1 or moment > now + CLOCK_LEEWAY:
        raise ValueError("is in the future: consent is recorded once it has been given")


def parse_consent_at(text: str, *, now: datetime.datetime | None = None) -> datetime.datetime:
    """The instant ``text`` names (see the module), or ValueError saying why not."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"“{_shown(text)}” is not a date and time: write it as 2026-03-01 14:30 (or 2026-03-01T14:30+01:00)"
        ) from None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=timezone.get_current_timezone())
    try:
        check_consent_at(moment, now=now)
    except ValueError as problem:
        raise ValueError(f"“{_shown(text)}” {problem}") from None
    return moment


def certificate_field(**kwargs) -> forms.URLField:
    """The certificate's form field: the form shows it, the import cleans with it."""
    return forms.URLField(
        max_length=MAX_CONSENT_TEXT,
        required=False,
        assume_scheme="https",
        error_messages={"invalid": "Enter an http or https address."},
        **kwargs,
    )


_CERTIFICATE = certificate_field()
# Django's URLField also takes ftp:// addresses; a certificate is a web page.
_WEB = ("http://", "https://")


def clean_certificate(text: str) -> str:
    """The certificate address ``text`` as stored ("" for none), or ValidationError."""
    url = _CERTIFICATE.clean(text)
    if url and not url.lower().startswith(_WEB):
        raise ValidationError("Enter an http or https address.", code="invalid")
    return url


def parse_certificate(text: str) -> str:
    """``clean_certificate`` for the import: ValueError naming the value."""
    try:
        return clean_certificate(text)
    except ValidationError:
        raise ValueError(f"“{_shown(text)}” is not an http(s) address") from None
