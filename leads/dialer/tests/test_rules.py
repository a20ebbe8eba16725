"""The lifecycle's dialling rules as plain functions (the dialer's tests drive them
end to end in campaigns/tests/test_dialer.py)."""

import datetime

import pytest

from campaigns.models import Campaign
from leads.dialer import rules
from leads.models import ContactStatus


class Number:
    def __init__(self, position, status=ContactStatus.CREATED, attempts=0):
        self.position, self.status, self.attempts = position, status, attempts


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
