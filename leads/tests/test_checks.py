"""The limits' system checks, through ``manage.py check`` as an operator runs it."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from leads.checks import LIMITS


def check() -> None:
    call_command("check", "--tag", "leadsite")


def test_the_default_limits_pass(settings):
    check()


@pytest.mark.parametrize("name", list(LIMITS))
@pytest.mark.parametrize("bad", ["below", -1, "500", 2.5, None, True])
def test_a_limit_that_is_no_whole_number_or_below_its_least_fails_the_check(settings, name, bad):
    value = LIMITS[name] - 1 if bad == "below" else bad
    setattr(settings, name, value)
    with pytest.raises(SystemCheckError, match=r"leadsite\.E004") as failure:
        check()
    assert f"{name} must be a whole number of {LIMITS[name]} or more, not {value!r}." in str(failure.value)


@pytest.mark.parametrize("name", list(LIMITS))
def test_a_limit_at_its_least_passes(settings, name):
    setattr(settings, name, LIMITS[name])
    check()


def test_a_missing_limit_fails_the_check(settings):
    del settings.LEADS_IMPORT_BATCH_ROWS
    with pytest.raises(SystemCheckError, match="LEADS_IMPORT_BATCH_ROWS must be a whole number of 1 or more, not None"):
        check()


@pytest.mark.parametrize("good", ["", "US", "GB", "DE"])
def test_a_default_country_libphonenumber_knows_or_none_passes(settings, good):
    settings.LEADS_DEFAULT_COUNTRY = good
    check()


@pytest.mark.parametrize("bad", ["us", "USA", "XX", "U", "<b>", "U\x00", None, 1])
def test_a_default_country_that_is_no_country_code_fails_the_check(settings, bad):
    settings.LEADS_DEFAULT_COUNTRY = bad
    with pytest.raises(SystemCheckError, match=r"leadsite\.E005") as failure:
        check()
    assert f"LEADS_DEFAULT_COUNTRY must be a two-letter country code (e.g. US, GB, DE) or empty, not {bad!r}." in str(
        failure.value
    )


def test_the_default_country_is_read_from_the_environment_in_upper_case(monkeypatch):
    import importlib

    import leadsite.settings.base as base

    monkeypatch.setenv("LEADS_DEFAULT_COUNTRY", " gb ")
    try:
        assert importlib.reload(base).LEADS_DEFAULT_COUNTRY == "GB"
    finally:
        monkeypatch.delenv("LEADS_DEFAULT_COUNTRY")
        importlib.reload(base)
