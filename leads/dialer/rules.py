"""The lifecycle's rules for dialling, as plain functions of a lead's numbers and its
campaign's settings: which number is next, what counts as success, how long to wait.
``leads.transitions`` applies them; nothing here reads or writes the database."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from campaigns.models import Campaign
from leads.models import CallOutcome, ContactStatus, LeadStatus

from .hours import zoned

# Number states that rule a number out for good (until a manual action).
_SPENT = frozenset({ContactStatus.BLACKLISTED, ContactStatus.REACHED_MAX_RETRIES, ContactStatus.COMPLETED})


class NumberState(Protocol):
    position: int
    status: str
    attempts: int
    callback_attempts: int


def allowance(number: NumberState, budget: int) -> int:
    """The attempts a number may have: the campaign's budget, plus one for each
    callback honoured on it (an appointment, not a retry)."""
    return budget + number.callback_attempts


def has_attempts_left(number: NumberState, budget: int) -> bool:
    """Dialable: not on the do-not-call list, not used up, not judged invalid, and
    under the campaign's current budget (a lowered budget takes effect at once)."""
    return number.status not in _SPENT and number.attempts < allowance(number, budget)


def first_dialable(numbers: Sequence[NumberState], budget: int, *, from_position: int = 0) -> NumberState | None:
    """The first number by position, at or after ``from_position``, with attempts left."""
    for number in sorted(numbers, key=lambda n: n.position):
        if number.position >= from_position and has_attempts_left(number, budget):
            return number
    return None


def number_to_dial(numbers: Sequence[NumberState], budget: int, next_position: int | None) -> NumberState | None:
    """The number a claim dials: from the lead's cursor (a cascade's next number, or
    the number a dial error retries), else from the first."""
    return first_dialable(numbers, budget, from_position=next_position or 0) or first_dialable(numbers, budget)


def numbers_to_dial(numbers: Sequence[NumberState], budget: int, next_position: int | None) -> list[NumberState]:
    """Every number with attempts left, in the order a claim tries them when the one
    before may not be dialled now (outside its window, over a cap): ``number_to_dial``
    first, then the following ones by position, then those before the cursor."""
    dialable = sorted((n for n in numbers if has_attempts_left(n, budget)), key=lambda n: n.position)
    cursor = next_position or 0
    return [n for n in dialable if n.position >= cursor] + [n for n in dialable if n.position < cursor]


@dataclass(frozen=True)
class NextStep:
    """Where a lead goes after an unsuccessful attempt."""

    status: str  # Scheduled, Rescheduled, Max retries or Do not call
    next_attempt_at: datetime.datetime | None
    next_position: int | None


# The campaign setting that holds each outcome's retry interval (blank: retry_interval).
_OUTCOME_INTERVAL = {
    CallOutcome.BUSY: "retry_interval_busy",
    CallOutcome.NO_ANSWER: "retry_interval_no_answer",
    CallOutcome.LOST: "retry_interval_no_answer",
    CallOutcome.VOICEMAIL: "retry_interval_voicemail",
    CallOutcome.FAILED: "retry_interval_failed",
    CallOutcome.COMPLETED: "retry_interval_goal_incomplete",
}


def retry_minutes(campaign: Campaign, outcome: str | None) -> int:
    """The wait before the same number is retried after ``outcome``: its own interval
    when the campaign sets one, else the retry interval."""
    name = _OUTCOME_INTERVAL.get(outcome)
    minutes = getattr(campaign, name) if name else None
    return minutes if minutes is not None else campaign.retry_interval


def after_unsuccessful(
    numbers: Sequence[NumberState],
    dialled_position: int,
    campaign: Campaign,
    now: datetime.datetime,
    *,
    outcome: str | None = None,
) -> NextStep:
    """The lifecycle's "any other result", with ``numbers`` already updated for the
    attempt just made.

    exhaust: the same number again after the outcome's retry interval; when it has
    run out, the next number at once. cascade: the next number of the round at once;
    after the last, the first with attempts left after the interval of the round's
    last outcome.
    """
    budget = campaign.attempts_per_number
    later = now + datetime.timedelta(minutes=retry_minutes(campaign, outcome))
    if campaign.secondary_strategy == Campaign.SecondaryStrategy.CASCADE:
        following = first_dialable(numbers, budget, from_position=dialled_position + 1)
        if following is not None:
            return NextStep(LeadStatus.SCHEDULED, now, following.position)
        if first_dialable(numbers, budget) is not None:
            return NextStep(LeadStatus.RESCHEDULED, later, None)
    else:
        first = first_dialable(numbers, budget)
        if first is not None:
            if first.position == dialled_position:
                return NextStep(LeadStatus.RESCHEDULED, later, None)
            return NextStep(LeadStatus.SCHEDULED, now, None)
    return out_of_numbers(numbers)


def after_outcome(
    numbers: Sequence[NumberState],
    dialled_position: int,
    campaign: Campaign,
    now: datetime.datetime,
    *,
    success: bool,
    outcome: str | None = None,
) -> NextStep:
    """Where a lead goes once its call's outcome is in, with ``numbers`` already
    updated by ``number_after_outcome``: Completed on success, else by the strategy."""
    if success:
        return NextStep(LeadStatus.COMPLETED, None, None)
    return after_unsuccessful(numbers, dialled_position, campaign, now, outcome=outcome)


@dataclass(frozen=True)
class Callback:
    """What becomes of a callback the callee asked for: ``at`` when it is honoured,
    and a note for the call's history either way."""

    at: datetime.datetime | None
    note: str

    @property
    def honoured(self) -> bool:
        return self.at is not None


def callback(
    campaign: Campaign,
    requested: datetime.datetime,
    *,
    callbacks_so_far: int,
    now: datetime.datetime,
    zone: str,
    next_opening: Callable[[datetime.datetime], datetime.datetime | None],
) -> Callback:
    """A requested callback (an aware time) by the spec's rules: not honoured when the
    campaign takes none, when the lead had its ``max_callbacks``, or beyond the
    horizon; a time in the past means now; outside the calling window, the window's
    next opening after it (``next_opening`` gives it in the number's zone, ``zone``,
    in which the notes name their times)."""
    if campaign.max_callbacks == 0:
        return Callback(None, "not honoured: this campaign takes no callbacks (max callbacks is 0)")
    if callbacks_so_far >= campaign.max_callbacks:
        return Callback(None, f"not honoured: the lead already had its {campaign.max_callbacks} callback(s)")
    if requested > now + datetime.timedelta(days=campaign.callback_horizon_days):
        return Callback(
            None, f"not honoured: {zoned(requested, zone)} is beyond the {campaign.callback_horizon_days}-day horizon"
        )
    at = max(requested, now)
    opening = next_opening(at)
    if opening is None:
        return Callback(None, "not honoured: the calling window never opens")
    if opening != at:
        return Callback(opening, f"honoured at {zoned(opening, zone)}, the calling window's next opening after it")
    return Callback(at, f"honoured at {zoned(at, zone)}" + (" (asked for a time already past)" if at == now else ""))


def out_of_numbers(numbers: Sequence[NumberState]) -> NextStep:
    """No number has attempts left: Do not call when every number is on the list,
    else Max retries."""
    if numbers and all(n.status == ContactStatus.BLACKLISTED for n in numbers):
        return NextStep(LeadStatus.BLACKLISTED, None, None)
    return NextStep(LeadStatus.REACHED_MAX_RETRIES, None, None)


def number_after_outcome(
    number: NumberState, budget: int, *, outcome: str, success: bool, on_do_not_call_list: bool
) -> str:
    """The dialled number's state once its outcome is in (its attempt was counted when
    the call was placed).

    A number that joined the do-not-call list while the call was in progress is Do
    not call whatever the outcome; an invalid number has no attempts left."""
    if on_do_not_call_list:
        return ContactStatus.BLACKLISTED
    if success:
        return ContactStatus.COMPLETED
    if outcome == CallOutcome.INVALID_NUMBER or number.attempts >= allowance(number, budget):
        return ContactStatus.REACHED_MAX_RETRIES
    return ContactStatus.RESCHEDULED


def number_after_dial_error(number: NumberState) -> tuple[str, int] | None:
    """The dialled number's (state, attempts) after a dial that never reached the
    provider: the attempt counted at placing is given back. None when the number is no
    longer the one in flight (nothing to give back)."""
    if number.status != ContactStatus.PROCESSING:
        return None
    attempts = max(number.attempts - 1, 0)
    return (ContactStatus.RESCHEDULED if attempts else ContactStatus.CREATED), attempts


def goal_achieved(campaign: Campaign, goal: bool | None, extracted: Mapping[str, Any]) -> bool:
    """``goal_achieved`` when the report has it, else the campaign's goal variable
    among the extracted values (true, or "true"/"yes"/"1"); missing means not achieved."""
    if goal is not None:
        return goal
    if not campaign.goal_completion_variable:
        return False
    value = extracted.get(campaign.goal_completion_variable)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return value is True or value == 1


def is_success(campaign: Campaign, outcome: str, goal: bool) -> bool:
    if outcome == CallOutcome.COMPLETED:
        return goal or not campaign.retry_on_goal_incomplete
    if outcome == CallOutcome.VOICEMAIL:
        return not campaign.retry_on_voicemail
    return False


def dial_error_backoff(campaign: Campaign, errors_in_row: int) -> datetime.timedelta:
    """1, 2, 4 … minutes for the 1st, 2nd, 3rd … dial error in a row, capped at the
    retry interval."""
    minutes = 2 ** min(errors_in_row - 1, 20)
    return datetime.timedelta(minutes=min(minutes, campaign.retry_interval))


def call_variables(
    defaults: Mapping[str, Any], lead_values: Mapping[str, Any], number_values: Mapping[str, Any]
) -> dict[str, Any]:
    """What the AI receives: assistant defaults, overlaid by the lead's values,
    overlaid by the dialled number's."""
    return {**defaults, **lead_values, **number_values}
