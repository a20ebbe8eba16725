"""leads.consent: the consent values as people write them, for the form and the import."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.consent import (
    check_consent_at,
    clean_certificate,
    parse_certificate,
    parse_consent_at,
    parse_level,
)

UTC = datetime.UTC
NOW = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("express", "express"),
        ("EXPRESS", "express"),
        (" Express ", "express"),
        ("express-written", "express-written"),
        ("express_written", "express-written"),
        ("Express Written", "express-written"),
        ("express - written", "express-written"),
        ("existing relationship", "existing-relationship"),
        ("Existing business relationship", "existing-relationship"),
        ("EBR", "existing-relationship"),
        ("none", "none"),
        ("None recorded", "none"),
    ],
)
def test_a_level_is_read_in_the_spellings_an_operator_writes(text, level):
    assert parse_level(text) == level


@pytest.mark.parametrize("text", ["yes", "true", "1", "opt-in", "expresswritten", "written", "<b>express</b>"])
def test_any_other_level_is_refused_naming_the_levels(text):
    with pytest.raises(ValueError) as problem:
        parse_level(text)
    assert str(problem.value) == f"“{text}” is not one of none, express, express-written, existing-relationship"


def test_a_refused_value_is_shown_shortened():
    with pytest.raises(ValueError) as problem:
        parse_level("x" * 1000)
    assert len(str(problem.value)) < 150 and "…" in str(problem.value)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-03-01T14:30:00+01:00", datetime.datetime(2026, 3, 1, 13, 30, tzinfo=UTC)),
        ("2026-03-01T14:30:00Z", datetime.datetime(2026, 3, 1, 14, 30, tzinfo=UTC)),
        ("2026-03-01 14:30", datetime.datetime(2026, 3, 1, 19, 30, tzinfo=UTC)),  # the site's zone: New York
        ("2026-03-01", datetime.datetime(2026, 3, 1, 5, 0, tzinfo=UTC)),  # the start of that day
        ("1970-01-01T00:00:00Z", datetime.datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_a_consent_time_is_read_with_its_offset_or_in_the_sites_zone(text, moment, settings):
    settings.TIME_ZONE = "America/New_York"
    assert parse_consent_at(text, now=NOW) == moment


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("yesterday", "is not a date and time: write it as 2026-03-01 14:30"),
        ("03/01/2026", "is not a date and time"),  # month or day first? Not guessed
        ("46037.5", "is not a date and time"),  # an .xls date cell's serial number
        ("2026-02-30", "is not a date and time"),
        ("2026-12-04T12:00:00Z", "is in the future"),
        ("9999-12-31T23:59:59-14:00", "is in the future"),
        ("2126-01-01", "is in the future"),
        ("1899-12-30", "is before 1970"),
        ("0001-01-01T00:00:00+14:00", "is before 1970"),
        ("1969-12-31T23:59:59Z", "is before 1970"),
    ],
)
def test_a_consent_time_that_cannot_be_is_refused_with_a_reason(text, says):
    with pytest.raises(ValueError, match=says):
        parse_consent_at(text, now=NOW)


def test_a_consent_time_a_few_minutes_ahead_is_another_clock_not_the_future():
    check_consent_at(NOW + datetime.timedelta(minutes=4), now=NOW)
    with pytest.raises(ValueError, match="future"):
        check_consent_at(NOW + datetime.timedelta(minutes=6), now=NOW)


def test_the_current_time_is_the_default_now():
    check_consent_at(timezone.now())
    with pytest.raises(ValueError, match="future"):
        check_consent_at(timezone.now() + datetime.timedelta(days=1))


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("https://cert.trustedform.com/0123abcd", "https://cert.trustedform.com/0123abcd"),
        ("http://example.com/c?id=1", "http://example.com/c?id=1"),
        ("cert.example.com/1", "https://cert.example.com/1"),  # no scheme: https
        ("", ""),
    ],
)
def test_a_certificate_is_a_web_address(text, url):
    assert clean_certificate(text) == url


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.com/cert",
        "file:///etc/passwd",
        "https://",
        "not a url at all",
        "https://example.com/" + "a" * 1000,
    ],
)
def test_any_other_certificate_is_refused(text):
    with pytest.raises(ValidationError):
        clean_certificate(text)
    with pytest.raises(ValueError, match="is not an http\\(s\\) address"):
        parse_certificate(text)
