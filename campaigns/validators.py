"""Validators for values an operator types into campaign and assistant settings."""

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
