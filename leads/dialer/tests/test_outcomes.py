"""What a call learns moves its lead (results-and-compliance.md §1 and §2): opt-outs,
callbacks, a goal achieved, results on the lead, and the retry interval of each
outcome. Driven end to end with explicit time, as the dialer runs: a pass places the
call, the report arrives through ``outcomes.outcome_receive``, later passes dial on."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from campaigns.tests.factories import make_campaign
from leads import transitions
from leads.dialer.tests.test_passes import T0, answer, dial, fresh, numbers, start
from leads.models import (
    REPORTED_OUTCOMES,
    CallOutcome,
    CallReport,
    ContactStatus,
    DoNotCallNumber,
    Lead,
    LeadStatus,
    StatusChange,
)
from leads.tests.factories import make_lead, phone
from leads.transitions import Actor

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)


def at(*args, zone=NEW_YORK) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=zone)


def one_call(campaign, now=T0):
    start(campaign)
    (call,) = dial(now)
    return call


# --- opt-out -----------------------------------------------------------------------


@pytest.mark.parametrize("outcome", REPORTED_OUTCOMES)
def test_an_opt_out_is_the_do_not_call_action_performed_by_the_call_whatever_the_outcome(outcome):
    campaign = make_campaign(goal_completion_variable="booked")
    shared = phone()
    lead = make_lead(campaign=campaign, secondaries=[shared])
    elsewhere = make_lead(campaign=make_campaign(), primary=shared)  # another campaign, the same number
    call = one_call(campaign)

    result = answer(
        call, outcome, T0 + MINUTE, opt_out=True, callback_at=datetime.datetime(2027, 6, 3, 15), goal_achieved=True
    )

    assert result == "applied"
    lead = fresh(lead)
    assert lead.status == LeadStatus.BLACKLISTED and lead.opted_out_at == T0 + MINUTE
    assert lead.callback_at is None and lead.next_attempt_at is None
    assert {n.status for n in numbers(lead)} == {ContactStatus.BLACKLISTED}
    listed = DoNotCallNumber.objects.order_by("phone")
    assert sorted(listed.values_list("phone", flat=True)) == sorted(n.phone for n in numbers(lead))
    assert {(entry.source, entry.call_id) for entry in listed} == {("call", call.pk)}
    assert fresh(elsewhere).status == LeadStatus.BLACKLISTED
    audit = StatusChange.objects.filter(lead=lead).latest("changed_at")
    assert (audit.from_status, audit.to_status) == (LeadStatus.PROCESSING, LeadStatus.BLACKLISTED)
    assert str(call.pk) in audit.reason
    assert str(call.pk) in StatusChange.objects.filter(lead=elsewhere).latest("changed_at").reason
    call = fresh(call)
    assert call.opt_out and call.callback_note == "ignored: the callee opted out"
    assert dial(T0 + 2 * HOUR) == []


def test_an_opt_out_keeps_numbers_already_on_the_list_as_they_were():
    campaign = make_campaign()
    lead = make_lead(campaign=campaign)
    call = one_call(campaign)
    DoNotCallNumber.objects.create(phone=call.phone, reason="registry")
    answer(call, "completed", T0 + MINUTE, opt_out=True)
    assert DoNotCallNumber.objects.get().reason == "registry"
    assert fresh(lead).status == LeadStatus.BLACKLISTED


def test_a_late_or_repeated_opt_out_moves_nothing():
    campaign = make_campaign()
    lead = make_lead(campaign=campaign)
    call = one_call(campaign)
    answer(call, "no-answer", T0 + MINUTE)
    assert answer(call, "completed", T0 + 2 * MINUTE, opt_out=True) == "kept"
    assert fresh(lead).status == LeadStatus.RESCHEDULED and fresh(lead).opted_out_at is None
    assert not DoNotCallNumber.objects.exists()


# --- callbacks ---------------------------------------------------------------------


def callback_campaign(**fields):
    fields.setdefault("timezone", "America/New_York")
    fields.setdefault("allowed_hours_start", datetime.time(9))
    fields.setdefault("allowed_hours_end", datetime.time(20))
    return make_campaign(**fields)


T_NY = at(2027, 6, 2, 11, 0)  # a Wednesday morning in New York


def test_a_callback_inside_the_window_reschedules_the_lead_to_that_time_in_the_numbers_zone():
    campaign = callback_campaign()
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)

    answer(call, "completed", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 3, 15, 0))

    wanted = at(2027, 6, 3, 15, 0)
    lead = fresh(lead)
    assert (lead.status, lead.next_attempt_at, lead.callback_at, lead.callbacks) == (
        LeadStatus.RESCHEDULED,
        wanted,
        wanted,
        1,
    )
    assert fresh(call).callback_at == wanted and fresh(call).callback_note.startswith(
        "honoured at 2027-06-03 15:00 EDT"
    )
    audit = StatusChange.objects.filter(lead=lead).latest("changed_at")
    assert "callback honoured" in audit.reason
    assert dial(wanted - MINUTE) == []
    (again,) = dial(wanted)
    assert again.phone == call.phone
    assert fresh(lead).callback_at is None  # no longer pending: this is its call
    assert StatusChange.objects.filter(lead=lead).latest("changed_at").reason == "callback call placed"


def test_a_callback_with_an_offset_is_that_instant_whatever_the_numbers_zone():
    campaign = callback_campaign()
    lead = make_lead(campaign=campaign, timezone="Europe/Berlin")
    call = one_call(campaign, at(2027, 6, 2, 11, 0, zone=ZoneInfo("Europe/Berlin")))
    answer(
        call,
        "completed",
        at(2027, 6, 2, 11, 1, zone=ZoneInfo("Europe/Berlin")),
        callback_at=datetime.datetime(2027, 6, 3, 14, 0, tzinfo=datetime.UTC),
    )
    assert fresh(lead).callback_at == datetime.datetime(2027, 6, 3, 14, 0, tzinfo=datetime.UTC)


def test_a_callback_outside_the_window_moves_to_the_windows_next_opening_after_it():
    campaign = callback_campaign(allowed_days=["monday", "tuesday", "wednesday", "thursday", "friday"])
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    # Friday 22:00 is after hours; Saturday and Sunday are no calling days.
    answer(call, "completed", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 4, 22, 0))
    assert fresh(lead).next_attempt_at == at(2027, 6, 7, 9, 0)
    assert "the calling window's next opening" in fresh(call).callback_note


def test_a_callback_before_the_window_opens_moves_to_that_days_opening():
    campaign = callback_campaign()
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(call, "completed", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 3, 7, 30))
    assert fresh(lead).next_attempt_at == at(2027, 6, 3, 9, 0)


def test_a_callback_across_a_daylight_saving_change_keeps_the_local_wall_time():
    # New York moves to EDT on Sunday 14 March 2027: 15:00 on the 15th is 19:00 UTC,
    # where 15:00 on the 12th was 20:00 UTC.
    campaign = callback_campaign()
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, at(2027, 3, 12, 15, 0))
    answer(call, "completed", at(2027, 3, 12, 15, 1), callback_at=datetime.datetime(2027, 3, 15, 15, 0))
    assert fresh(lead).next_attempt_at == datetime.datetime(2027, 3, 15, 19, 0, tzinfo=datetime.UTC)


def test_a_callback_after_hours_the_evening_before_the_change_opens_at_the_new_offset():
    campaign = callback_campaign()
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, at(2027, 3, 13, 15, 0))
    answer(call, "completed", at(2027, 3, 13, 15, 1), callback_at=datetime.datetime(2027, 3, 13, 23, 0))
    # Sunday 09:00 EDT (UTC-4).
    assert fresh(lead).next_attempt_at == datetime.datetime(2027, 3, 14, 13, 0, tzinfo=datetime.UTC)


def test_a_callback_in_the_past_means_now():
    campaign = callback_campaign()
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(call, "completed", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 1, 15, 0))
    assert fresh(lead).next_attempt_at == T_NY + MINUTE
    assert "already past" in fresh(call).callback_note
    (again,) = dial(T_NY + 2 * MINUTE)
    assert again.phone == call.phone


def test_a_callback_beyond_the_horizon_is_not_honoured_and_the_ordinary_rules_go_on():
    campaign = callback_campaign(callback_horizon_days=7, retry_interval=60)
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(call, "no-answer", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 10, 15, 0))
    lead = fresh(lead)
    assert lead.next_attempt_at == T_NY + MINUTE + HOUR and lead.callback_at is None and lead.callbacks == 0
    assert "beyond the 7-day horizon" in fresh(call).callback_note
    assert "beyond the 7-day horizon" in StatusChange.objects.filter(lead=lead).latest("changed_at").reason


def test_callbacks_over_max_callbacks_are_not_honoured():
    campaign = callback_campaign(max_callbacks=1, retry_interval=60)
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(call, "completed", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 2, 14, 0))
    (second,) = dial(at(2027, 6, 2, 14, 0))
    answer(second, "completed", at(2027, 6, 2, 14, 1), callback_at=datetime.datetime(2027, 6, 2, 16, 0))
    assert "already had its 1 callback" in fresh(second).callback_note
    # Not honoured: the conversation completes the lead (no retry on goal incomplete).
    assert fresh(lead).status == LeadStatus.COMPLETED and fresh(lead).callbacks == 1


def test_a_campaign_with_max_callbacks_0_honours_none():
    campaign = callback_campaign(max_callbacks=0)
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(call, "completed", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 3, 15, 0))
    assert fresh(lead).status == LeadStatus.COMPLETED
    assert "takes no callbacks" in fresh(call).callback_note


def test_goal_achieved_wins_over_a_callback():
    campaign = callback_campaign(goal_completion_variable="booked")
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(
        call,
        "completed",
        T_NY + MINUTE,
        extracted_variables={"booked": "yes"},
        callback_at=datetime.datetime(2027, 6, 3, 15, 0),
    )
    lead = fresh(lead)
    assert lead.status == LeadStatus.COMPLETED and lead.callback_at is None and lead.callbacks == 0
    assert fresh(call).callback_note == "ignored: the goal was achieved"


def test_a_callback_wins_over_a_conversation_that_would_complete_the_lead_without_its_goal():
    campaign = callback_campaign(goal_completion_variable="booked")
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(call, "completed", T_NY + MINUTE, goal_achieved=False, callback_at=datetime.datetime(2027, 6, 3, 15, 0))
    assert fresh(lead).status == LeadStatus.RESCHEDULED
    assert numbers(lead)[0].status == ContactStatus.RESCHEDULED


def test_a_callback_after_the_budget_is_spent_gets_exactly_one_more_attempt():
    campaign = callback_campaign(max_retries=0)  # one attempt per number
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(call, "completed", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 2, 15, 0))
    (number,) = numbers(lead)
    assert (number.attempts, number.callback_attempts, number.status) == (1, 1, ContactStatus.RESCHEDULED)
    (callback_call,) = dial(at(2027, 6, 2, 15, 0))
    assert callback_call.attempt == 2
    answer(callback_call, "no-answer", at(2027, 6, 2, 15, 1))
    (number,) = numbers(lead)
    assert number.status == ContactStatus.REACHED_MAX_RETRIES
    assert fresh(lead).status == LeadStatus.REACHED_MAX_RETRIES


def test_a_callback_does_not_use_the_retry_budget_of_a_number_that_had_attempts_left():
    campaign = callback_campaign(max_retries=1, retry_interval=60)  # two attempts
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(call, "completed", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 2, 15, 0))
    (callback_call,) = dial(at(2027, 6, 2, 15, 0))
    answer(callback_call, "no-answer", at(2027, 6, 2, 15, 1))
    # Two attempts made, one of them the callback's: one of the budget's is left.
    assert fresh(lead).status == LeadStatus.RESCHEDULED
    (last,) = dial(at(2027, 6, 2, 16, 1))
    answer(last, "no-answer", at(2027, 6, 2, 16, 2))
    assert fresh(lead).status == LeadStatus.REACHED_MAX_RETRIES


@pytest.mark.parametrize("strategy", ["exhaust", "cascade"])
def test_a_callback_dials_the_same_number_next_in_both_strategies(strategy):
    campaign = callback_campaign(secondary_strategy=strategy, max_retries=0)
    lead = make_lead(campaign=campaign, secondaries=[phone(), phone()])
    first = one_call(campaign, T_NY)
    answer(first, "no-answer", T_NY + MINUTE)
    (second,) = dial(T_NY + 2 * MINUTE)  # the next number at once, in both strategies
    assert second.position == 1
    answer(second, "completed", T_NY + 3 * MINUTE, callback_at=datetime.datetime(2027, 6, 2, 15, 0))
    assert fresh(lead).next_position == 1
    (callback_call,) = dial(at(2027, 6, 2, 15, 0))
    assert callback_call.position == 1  # not the third number, nor the first
    answer(callback_call, "no-answer", at(2027, 6, 2, 15, 1))
    (third,) = dial(at(2027, 6, 2, 15, 2))
    assert third.position == 2  # the ordinary rules go on


def test_a_callback_on_an_invalid_number_or_one_that_joined_the_list_is_not_honoured():
    campaign = callback_campaign()
    invalid = make_lead(campaign=campaign)
    listed = make_lead(campaign=campaign)
    start(campaign)
    calls = {c.lead_id: c for c in dial(T_NY)}
    answer(calls[invalid.pk], "invalid-number", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 3, 15, 0))
    assert "reported invalid" in fresh(calls[invalid.pk]).callback_note
    DoNotCallNumber.objects.create(phone=calls[listed.pk].phone)
    answer(calls[listed.pk], "completed", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 3, 15, 0))
    assert "do-not-call list" in fresh(calls[listed.pk]).callback_note
    assert fresh(invalid).callback_at is None and fresh(listed).callback_at is None


def test_a_reset_by_hand_forgets_a_pending_callback_and_the_callbacks_count():
    campaign = callback_campaign()
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(call, "completed", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 3, 15, 0))
    transitions.reset(Lead.objects.filter(pk=lead.pk), actor=Actor.system())
    lead = fresh(lead)
    assert (lead.status, lead.callback_at, lead.callbacks) == (LeadStatus.CREATED, None, 0)
    assert numbers(lead)[0].callback_attempts == 0


@pytest.mark.parametrize("action", [transitions.complete, transitions.stop])
def test_completing_or_stopping_by_hand_cancels_a_pending_callback(action):
    campaign = callback_campaign()
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(call, "completed", T_NY + MINUTE, callback_at=datetime.datetime(2027, 6, 3, 15, 0))
    action(Lead.objects.filter(pk=lead.pk), actor=Actor.system())
    assert fresh(lead).callback_at is None


# --- results -----------------------------------------------------------------------


def test_results_merge_every_reports_variables_and_keep_the_latest_conversation():
    campaign = callback_campaign(retry_on_goal_incomplete=True, goal_completion_variable="booked")
    lead = make_lead(campaign=campaign)
    first = one_call(campaign, T_NY)
    answer(
        first,
        "completed",
        T_NY + MINUTE,
        duration_seconds=95,
        extracted_variables={"booked": False, "best_time": "mornings", "email": "a@example.com"},
        summary="Interested, wants mornings.",
        disposition="interested",
        recording_url="https://rec.example.com/1.mp3",
        transcript=[{"role": "agent", "text": "Hello", "at": 0.5}],
    )
    lead = fresh(lead)
    assert lead.results == {"booked": False, "best_time": "mornings", "email": "a@example.com"}
    assert (lead.goal_achieved, lead.disposition, lead.summary, lead.duration_seconds) == (
        False,
        "interested",
        "Interested, wants mornings.",
        95,
    )
    assert lead.recording_url == "https://rec.example.com/1.mp3" and lead.conversation_call_id == first.pk
    (second,) = dial(T_NY + 2 * HOUR)
    answer(second, "voicemail", T_NY + 2 * HOUR + MINUTE, extracted_variables={"email": "b@example.com"})
    lead = fresh(lead)
    # A voicemail is no conversation: the conversation's fields stay, the results merge.
    assert lead.results == {"booked": False, "best_time": "mornings", "email": "b@example.com"}
    assert lead.summary == "Interested, wants mornings." and lead.conversation_call_id == first.pk


def test_the_call_keeps_what_the_report_said():
    campaign = callback_campaign()
    make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    turns = [{"role": "agent", "text": "Hi <b>there</b>", "at": 0.0}, {"role": "callee", "text": "Hello", "at": None}]
    answer(call, "completed", T_NY + MINUTE, transcript=turns, disposition="wrong-person")
    call = fresh(call)
    assert call.transcript == turns and call.disposition == "wrong-person" and not call.opt_out
    assert CallReport.objects.get().applied


# --- retry interval per outcome ------------------------------------------------------

INTERVALS = {
    "retry_interval": 60,
    "retry_interval_busy": 15,
    "retry_interval_no_answer": 120,
    "retry_interval_voicemail": 240,
    "retry_interval_failed": 30,
    "retry_interval_goal_incomplete": 1440,
}


@pytest.mark.parametrize(
    ("outcome", "fields", "minutes"),
    [
        ("busy", {}, 15),
        ("no-answer", {}, 120),
        ("voicemail", {}, 240),
        ("failed", {}, 30),
        ("completed", {"goal_achieved": False}, 1440),
    ],
)
def test_exhaust_waits_the_interval_of_the_outcome(outcome, fields, minutes):
    campaign = callback_campaign(
        **INTERVALS, retry_on_voicemail=True, retry_on_goal_incomplete=True, goal_completion_variable="booked"
    )
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(call, outcome, T_NY + MINUTE, **fields)
    assert fresh(lead).next_attempt_at == T_NY + MINUTE + datetime.timedelta(minutes=minutes)


def test_a_lost_call_waits_the_no_answer_interval():
    campaign = callback_campaign(**INTERVALS, call_timeout=5)
    lead = make_lead(campaign=campaign)
    one_call(campaign, T_NY)
    dial(T_NY + 5 * MINUTE)  # closes it as lost
    lead = fresh(lead)
    assert lead.last_outcome == CallOutcome.LOST
    assert lead.next_attempt_at == T_NY + 5 * MINUTE + 120 * MINUTE


def test_a_blank_interval_is_the_retry_interval():
    campaign = callback_campaign(retry_interval=45, retry_interval_no_answer=None)
    lead = make_lead(campaign=campaign)
    call = one_call(campaign, T_NY)
    answer(call, "busy", T_NY + MINUTE)
    assert fresh(lead).next_attempt_at == T_NY + 46 * MINUTE


def test_cascade_waits_the_interval_of_the_rounds_last_outcome():
    campaign = callback_campaign(secondary_strategy="cascade", **INTERVALS)
    lead = make_lead(campaign=campaign, secondaries=[phone()])
    first = one_call(campaign, T_NY)
    answer(first, "busy", T_NY + MINUTE)
    assert fresh(lead).status == LeadStatus.SCHEDULED  # the next number at once
    (second,) = dial(T_NY + 2 * MINUTE)
    answer(second, "no-answer", T_NY + 3 * MINUTE)
    assert fresh(lead).next_attempt_at == T_NY + 3 * MINUTE + 120 * MINUTE
