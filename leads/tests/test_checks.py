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
