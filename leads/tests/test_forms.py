import datetime
import zoneinfo

import pytest
from django.utils import timezone

from leads.forms import RescheduleForm

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def reschedule_form(**data) -> RescheduleForm:
    form = RescheduleForm(data)
    form.is_valid()
    return form


def test_the_reschedule_time_is_read_in_the_current_time_zone_which_the_form_names():
    day = timezone.localdate(timezone=NEW_YORK) + datetime.timedelta(days=3)
    with timezone.override(NEW_YORK):
        form = reschedule_form(when="at", at_0=day.isoformat(), at_1="09:30")
        assert form.fields["at"].label == "Time (America/New_York)"
        assert "in America/New_York" in form.fields["at"].help_text
    assert not form.errors
    assert form.cleaned_data["at"] == datetime.datetime.combine(day, datetime.time(9, 30), tzinfo=NEW_YORK)


def test_the_reschedule_widgets_are_the_browsers_date_and_time_inputs():
    html = str(RescheduleForm()["at"])
    assert 'type="date"' in html and 'type="time"' in html
    assert f'min="{timezone.localdate().isoformat()}"' in html


def test_a_time_that_does_not_exist_in_the_zone_is_refused_with_a_reason():
    # 2027-03-14 02:30 never happens in New York: clocks go from 02:00 to 03:00.
    with timezone.override(NEW_YORK):
        form = reschedule_form(when="at", at_0="2027-03-14", at_1="02:30")
    assert "couldn’t be interpreted in time zone America/New_York" in " ".join(form.errors["at"])


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"when": "at"}, "at", "Choose the date and time"),
        ({"when": "at", "at_0": "2001-01-01", "at_1": "10:00"}, "at", "has not passed"),
        ({"when": "at", "at_0": "2099-01-01", "at_1": "10:00"}, "at", "within a year"),
        ({"when": "at", "at_0": "9999-12-31", "at_1": "23:59"}, "at", "within a year"),
        ({"when": "at", "at_0": "12/05/2026", "at_1": "10:00"}, "at", "Enter a valid date"),
        ({"when": "at", "at_0": "2026-12-05", "at_1": "9.30pm"}, "at", "Enter a valid time"),
        ({"when": "at", "at_0": "<b>2026</b>\x00", "at_1": "10:00"}, "at", "Enter a valid date"),
        ({"when": "at", "at_0": "2026-12-05"}, "at", "Enter a valid time"),
        ({"when": "interval", "at_0": "2099-01-01", "at_1": "10:00"}, "when", "choose “At this time”, or clear"),
        ({"when": "soon"}, "when", "Select a valid choice"),
    ],
)
def test_a_malformed_reschedule_answer_says_what_is_wrong(data, field, message):
    form = reschedule_form(**data)
    assert message in " ".join(form.errors.get(field, [])), form.errors


def test_after_the_interval_needs_no_time():
    form = reschedule_form(when="interval", at_0="", at_1="")
    assert not form.errors and form.cleaned_data["at"] is None
