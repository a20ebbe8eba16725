"""The lifecycle's dialling rules as plain functions (the dialer's tests drive them
end to end in campaigns/tests/test_dialer.py)."""

import datetime

import pytest

from campaigns.models import Campaign
from leads.dialer import rules
from leads.models import CallOutcome, ContactStatus, LeadStatus


class Number:
    def __init__(self, position, status=ContactStatus.CREATED, attempts=0, callback_attempts=0):
        self.position, self.status, self.attempts = position, status, attempts
        self.callback_attempts = callback_attempts


@pytest.mark.parametrize(("errors", "minutes"), [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (40, 30)])
def test_dial_error_backoff_doubles_up_to_the_retry_interval(errors, minutes):
    assert rules.dial_error_backoff(Campaign(retry_interval=30), errors) == datetime.timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("flag", "extracted", "achieved"),
    [
        (True, {}, True),
        (False, {"done": True}, False),
        (None, {"done": True}, True),
        (None, {"done": "Yes "}, True),
        (None, {"done": 1}, True),
        (None, {"done": "no"}, False),
        (None, {"done": 0}, False),
        (None, {}, False),
        (None, {"done": [True]}, False),
    ],
)
def test_the_goal_is_the_flag_else_the_goal_variable(flag, extracted, achieved):
    assert rules.goal_achieved(Campaign(goal_completion_variable="done"), flag, extracted) is achieved


def test_without_a_goal_variable_only_the_flag_counts():
    assert rules.goal_achieved(Campaign(), None, {"done": True}) is False


@pytest.mark.parametrize(
    ("outcome", "options", "success"),
    [
        ("completed", {}, True),
        ("completed", {"retry_on_goal_incomplete": True}, False),
        ("voicemail", {}, True),
        ("voicemail", {"retry_on_voicemail": True}, False),
        ("no-answer", {}, False),
        ("busy", {}, False),
        ("failed", {}, False),
        ("invalid-number", {}, False),
        ("lost", {}, False),
    ],
)
def test_what_counts_as_success(outcome, options, success):
    assert rules.is_success(Campaign(**options), outcome, goal=False) is success


def test_numbers_without_attempts_left_are_passed_over():
    numbers = [
        Number(0, attempts=2),
        Number(1, ContactStatus.BLACKLISTED),
        Number(2, ContactStatus.REACHED_MAX_RETRIES),
        Number(3, attempts=1),
    ]
    assert rules.number_to_dial(numbers, budget=2, next_position=None).position == 3
    assert rules.number_to_dial(numbers, budget=3, next_position=None).position == 0
    assert rules.number_to_dial(numbers, budget=3, next_position=1).position == 3  # the cursor first
    assert rules.number_to_dial(numbers, budget=1, next_position=None) is None


def test_the_ai_receives_defaults_under_lead_values_under_the_numbers_own():
    assert rules.call_variables({"a": "1", "b": "1", "c": "1"}, {"b": "2", "c": "2"}, {"c": "3"}) == {
        "a": "1",
        "b": "2",
        "c": "3",
    }


@pytest.mark.parametrize(
    ("outcome", "success", "attempts", "status"),
    [
        ("completed", True, 1, ContactStatus.COMPLETED),
        ("completed", False, 1, ContactStatus.RESCHEDULED),  # the goal incomplete, with retry_on_goal_incomplete
        ("completed", False, 2, ContactStatus.REACHED_MAX_RETRIES),
        ("voicemail", True, 1, ContactStatus.COMPLETED),
        ("voicemail", False, 1, ContactStatus.RESCHEDULED),  # with retry_on_voicemail
        ("voicemail", False, 2, ContactStatus.REACHED_MAX_RETRIES),
        ("no-answer", False, 1, ContactStatus.RESCHEDULED),
        ("no-answer", False, 2, ContactStatus.REACHED_MAX_RETRIES),
        ("busy", False, 1, ContactStatus.RESCHEDULED),
        ("busy", False, 2, ContactStatus.REACHED_MAX_RETRIES),
        ("failed", False, 1, ContactStatus.RESCHEDULED),
        ("failed", False, 2, ContactStatus.REACHED_MAX_RETRIES),
        ("lost", False, 1, ContactStatus.RESCHEDULED),
        ("lost", False, 2, ContactStatus.REACHED_MAX_RETRIES),
        ("invalid-number", False, 1, ContactStatus.REACHED_MAX_RETRIES),  # attempts left, but invalid
        ("invalid-number", False, 2, ContactStatus.REACHED_MAX_RETRIES),
    ],
)
def test_the_dialled_number_after_each_outcome(outcome, success, attempts, status):
    number = Number(0, ContactStatus.PROCESSING, attempts=attempts)
    assert rules.number_after_outcome(number, 2, outcome=outcome, success=success, on_do_not_call_list=False) == status


@pytest.mark.parametrize("success", [True, False])
@pytest.mark.parametrize("outcome", [o for o in CallOutcome.values if o != CallOutcome.DIAL_ERROR])
def test_a_number_that_joined_the_list_during_its_call_is_do_not_call_whatever_the_outcome(outcome, success):
    number = Number(0, ContactStatus.PROCESSING, attempts=1)
    assert (
        rules.number_after_outcome(number, 3, outcome=outcome, success=success, on_do_not_call_list=True)
        == ContactStatus.BLACKLISTED
    )


NOW = datetime.datetime(2030, 1, 1, 12, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("strategy", "success", "step"),
    [
        ("exhaust", True, rules.NextStep(LeadStatus.COMPLETED, None, None)),
        ("cascade", True, rules.NextStep(LeadStatus.COMPLETED, None, None)),
        ("exhaust", False, rules.NextStep(LeadStatus.RESCHEDULED, NOW + datetime.timedelta(minutes=60), None)),
        ("cascade", False, rules.NextStep(LeadStatus.SCHEDULED, NOW, 1)),
    ],
)
def test_after_an_outcome_the_lead_completes_on_success_else_goes_on_by_its_strategy(strategy, success, step):
    numbers = [Number(0, ContactStatus.RESCHEDULED, attempts=1), Number(1)]
    campaign = Campaign(secondary_strategy=strategy, retry_interval=60)
    assert rules.after_outcome(numbers, 0, campaign, NOW, success=success) == step


@pytest.mark.parametrize(
    ("status", "attempts", "after"),
    [
        (ContactStatus.PROCESSING, 1, (ContactStatus.CREATED, 0)),
        (ContactStatus.PROCESSING, 3, (ContactStatus.RESCHEDULED, 2)),
        (ContactStatus.PROCESSING, 0, (ContactStatus.CREATED, 0)),
        (ContactStatus.COMPLETED, 1, None),  # no longer the number in flight: nothing to give back
        (ContactStatus.BLACKLISTED, 1, None),
        (ContactStatus.RESCHEDULED, 2, None),
    ],
)
def test_a_dial_error_gives_the_numbers_attempt_back(status, attempts, after):
    assert rules.number_after_dial_error(Number(0, status, attempts=attempts)) == after
