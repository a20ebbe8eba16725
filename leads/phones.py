"""Reading phone numbers as people type them and storing them in E.164."""

import re

import phonenumbers

# What people put around digits: spaces, dashes, dots, brackets, slashes.
_SEPARATORS = re.compile(r"[\s\-().\/]")


class InvalidPhoneNumber(ValueError):
    """The text is not a phone number we can dial; the message says why, for a person."""


def normalize_phone(raw: object, *, region: str | None = None) -> str:
    """Return ``raw`` as E.164 (``+14155551234``) or raise InvalidPhoneNumber.

    International numbers keep their ``+``. Digits without ``+`` are read in
    ``region`` when one is given (a national number), else as international digits
    whose ``+`` a spreadsheet dropped.
    """
    text = "" if raw is None else str(raw).strip()
    if not text:
        raise InvalidPhoneNumber("A phone number is required.")
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not re.fullmatch(r"\+?[0-9]+", compact):
        raise InvalidPhoneNumber(f"“{text}” is not a phone number: use digits, optionally starting with +.")
    digits = compact.lstrip("+")
    if len(digits) < 5 or len(digits) > 15:
        raise InvalidPhoneNumber(f"“{text}” has {len(digits)} digits; a phone number has 5 to 15.")
    try:
        if compact.startswith("+"):
            number = phonenumbers.parse(compact, None)
        elif region:
            number = phonenumbers.parse(compact, region.upper())
        else:
            number = phonenumbers.parse("+" + compact, None)
    except phonenumbers.NumberParseException:
        hint = (
            "" if compact.startswith("+") or region else " (no country is set, so it must start with its country code)"
        )
        raise InvalidPhoneNumber(f"“{text}” is not a valid phone number{hint}.") from None
    if not is_valid(number):
        hint = (
            "" if compact.startswith("+") or region else " (no country is set, so it must start with its country code)"
        )
        raise InvalidPhoneNumber(f"“{text}” is not a valid phone number{hint}.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_valid(number: phonenumbers.PhoneNumber) -> bool:
    """phonenumbers.is_valid_number, about twice as fast for the usual case.

    is_valid_number finds the number's region by trying every region of its country
    code in turn (25 for +1) and then checks it there. The main region is the one it
    tries first, so a number valid there is valid, full stop; only the others need
    the full search. Imports check hundreds of thousands of numbers.
    """
    main = phonenumbers.region_code_for_country_code(number.country_code)
    return phonenumbers.is_valid_number_for_region(number, main) or phonenumbers.is_valid_number(number)


def search_digits(query: str) -> str | None:
    """The digits of a search that looks like (part of) a phone number, else None."""
    compact = _SEPARATORS.sub("", query.strip())
    if re.fullmatch(r"\+?[0-9]{3,15}", compact):
        return compact.lstrip("+")
    return None
