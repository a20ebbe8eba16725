import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from campaigns.models import Campaign
from campaigns.tests.factories import make_assistant, make_campaign

pytestmark = pytest.mark.django_db


def test_a_new_campaign_has_the_spec_defaults():
    campaign = make_campaign()
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.max_calls_in_parallel == 3
    assert (campaign.allowed_hours_start, campaign.allowed_hours_end) == (datetime.time(0, 0), datetime.time(23, 59))
    assert campaign.allowed_days == ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    assert (campaign.max_retries, campaign.retry_interval, campaign.call_timeout) == (3, 60, 30)
    assert campaign.attempts_per_number == 4
    assert not campaign.retry_on_voicemail and not campaign.retry_on_goal_incomplete
    assert campaign.secondary_strategy == Campaign.SecondaryStrategy.EXHAUST
    assert campaign.mark_complete_when_no_leads


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_calls_in_parallel", 0),
        ("max_calls_in_parallel", 1001),
        ("max_retries", 11),
        ("retry_interval", 9),
        ("retry_interval", 4321),
        ("call_timeout", 0),
        ("timezone", "Mars/Olympus"),
        ("default_country", "XX"),
        ("allowed_days", []),
        ("allowed_days", ["funday"]),
        ("allowed_days", "monday"),
    ],
)
def test_out_of_range_settings_are_refused_by_validation(field, value):
    campaign = make_campaign()
    setattr(campaign, field, value)
    with pytest.raises(ValidationError) as error:
        campaign.full_clean()
    assert field in error.value.message_dict


@pytest.mark.parametrize(
    "fields",
    [
        {"max_calls_in_parallel": 0},
        {"max_calls_in_parallel": 1001},
        {"max_retries": 11},
        {"retry_interval": 5},
        {"call_timeout": 0},
        {"allowed_hours_start": datetime.time(18), "allowed_hours_end": datetime.time(9)},
        {"retry_on_goal_incomplete": True, "goal_completion_variable": ""},
    ],
)
def test_out_of_range_settings_are_refused_by_the_database(fields):
    campaign = make_campaign()
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(**fields)


def test_goal_retry_needs_the_goal_variable():
    campaign = make_campaign()
    campaign.retry_on_goal_incomplete = True
    with pytest.raises(ValidationError) as error:
        campaign.full_clean()
    assert "goal_completion_variable" in error.value.message_dict


def test_calling_hours_must_not_end_before_they_start():
    campaign = make_campaign(allowed_hours_start=datetime.time(9), allowed_hours_end=datetime.time(17))
    campaign.allowed_hours_end = datetime.time(8)
    with pytest.raises(ValidationError) as error:
        campaign.full_clean()
    assert "allowed_hours_end" in error.value.message_dict


def test_timezone_falls_back_from_campaign_to_assistant_to_site(settings):
    settings.TIME_ZONE = "UTC"
    assert make_campaign(timezone="Europe/Berlin").effective_timezone() == "Europe/Berlin"
    assert make_campaign(assistant=make_assistant(timezone="Asia/Tokyo")).effective_timezone() == "Asia/Tokyo"
    assert make_campaign().effective_timezone() == "UTC"


@pytest.mark.parametrize("name", ["Customer Name", "1st", "name-with-dash", "", "x" * 65, "Ünicode"])
def test_variable_names_are_identifiers(name):
    assistant = make_assistant(variables=[{"name": "ok_name"}])
    variable = assistant.variables.get()
    variable.name = name
    with pytest.raises(ValidationError):
        variable.full_clean()
