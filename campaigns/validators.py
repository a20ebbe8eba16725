"""Validators for values an operator types into campaign and assistant settings."""

import datetime
import re
import zoneinfo

import phonenumbers
from django.core.exceptions import ValidationError

VARIABLE_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")


def validate_timezone(value: str) -> None:
    if not value:
        return
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            "%(value)s is not a time zone name; use an IANA name such as Europe/London.",
            params={"value": value},
            code="invalid_timezone",
        )


def validate_variable_name(value: str) -> None:
    if not VARIABLE_NAME_RE.match(value):
        raise ValidationError(
            "Use lower-case letters, digits and _ (starting with a letter or _), "
            "at most 64 characters, e.g. customer_name.",
            code="invalid_variable_name",
        )


def validate_country(value: str) -> None:
    if value and value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(
            "%(value)s is not a two-letter country code (e.g. US, GB, DE).",
            params={"value": value},
            code="invalid_country",
        )


DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def validate_days(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one calling day.", code="invalid_days")
    unknown = [day for day in value if day not in DAYS]
    if unknown:
        raise ValidationError("Unknown day(s): %(days)s.", params={"days": ", ".join(map(str, unknown))})
    if len(set(value)) != len(value):
        raise ValidationError("A calling day is listed twice.", code="invalid_days")


CALLING_CODE_RE = re.compile(r"^[1-9][0-9]{0,2}$")
REGION_RE = re.compile(r"^(US|CA)-[A-Z]{2}$")
MAX_HOLIDAYS = 366


def validate_calling_code(value: str) -> None:
    if not CALLING_CODE_RE.match(value or "") or int(value) not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        raise ValidationError(
            "%(value)s is not a country calling code; use its digits only (1, 44, 49).",
            params={"value": value},
            code="invalid_calling_code",
        )


def validate_region(value: str) -> None:
    if value and not REGION_RE.match(value):
        raise ValidationError(
            "Use a US state or Canadian province as an ISO 3166-2 code, e.g. US-CA or CA-ON.",
            code="invalid_region",
        )


def validate_rule_days(value: object) -> None:
    """A rule's days: like a campaign's, except that empty means every day."""
    if value == []:
        return
    validate_days(value)


def validate_holidays(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError("List the holidays as dates (YYYY-MM-DD).", code="invalid_holidays")
    if len(value) > MAX_HOLIDAYS:
        raise ValidationError("At most %(max)s holidays per rule.", params={"max": MAX_HOLIDAYS})
    for day in value:
        try:
            datetime.date.fromisoformat(day if isinstance(day, str) and len(day) == 10 else "")
        except ValueError:
            raise ValidationError(
                "%(day)s is not a date; write it as YYYY-MM-DD.", params={"day": str(day)[:20]}, code="invalid_holidays"
            ) from None
