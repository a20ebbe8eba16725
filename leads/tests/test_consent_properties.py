"""leads.consent's readers fed generated values: each either reads a value or refuses it
with a message (ValueError), never anything else; what they read is what a spelling
or a writing of it says."""

import datetime

from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from campaigns.models import Consent
from leads.consent import CLOCK_LEEWAY, EARLIEST, parse_certificate, parse_consent_at, parse_level

NOW = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.UTC)
SEPARATORS = st.sampled_from([" ", "_", "-", "  ", " - ", "\t"])


@given(st.text())
def test_any_text_is_a_level_or_refused_with_a_message(text):
    try:
        level = parse_level(text)
    except ValueError as problem:
        assert "is not one of none, express, express-written, existing-relationship" in str(problem)
        return
    assert level in Consent.values


@given(st.sampled_from(Consent.values), st.data())
def test_a_level_reads_back_in_any_case_and_with_any_separator(level, data):
    words = level.split("-")
    separator = data.draw(SEPARATORS)
    spelled = separator.join(words)
    cased = "".join(c.upper() if data.draw(st.booleans()) else c for c in spelled)
    assert parse_level(f" {cased} ") == level


@given(st.text())
def test_any_text_is_a_consent_time_or_refused_with_a_message(text):
    try:
        moment = parse_consent_at(text, now=NOW)
    except ValueError as problem:
        assert str(problem)  # a reason, never an OverflowError or a crash
        return
    assert moment.tzinfo is not None and EARLIEST <= moment <= NOW + CLOCK_LEEWAY


@given(
    st.datetimes(
        min_value=datetime.datetime(1, 1, 1),
        max_value=datetime.datetime(9999, 12, 31),
        timezones=st.sampled_from(
            [
                datetime.UTC,
                datetime.timezone(datetime.timedelta(hours=-14)),
                datetime.timezone(datetime.timedelta(hours=14, minutes=0)),
            ]
        ),
    )
)
def test_an_instant_written_in_iso_8601_reads_back_or_is_out_of_range(moment):
    """Any date from year 1 to 9999, at any offset: the export's writing of it reads back
    to the same instant when it is in range, and is refused (not an overflow) when not."""
    text = moment.isoformat()
    try:
        read = parse_consent_at(text, now=NOW)
    except ValueError as problem:
        assert "is before 1970" in str(problem) or "is in the future" in str(problem)
        return
    assert read == moment


@given(st.one_of(st.text(), st.from_regex(r"[a-zA-Z]{2,10}:[ -~]{0,40}", fullmatch=True)))
def test_any_certificate_is_an_http_address_or_refused(text):
    try:
        url = parse_certificate(text)
    except (ValueError, ValidationError) as problem:
        assert isinstance(problem, ValueError) and "is not an http(s) address" in str(problem)
        return
    assert url == "" or url.lower().startswith(("http://", "https://"))
