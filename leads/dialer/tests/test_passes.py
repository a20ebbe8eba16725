"""The dialer against the lifecycle's rules, with time driven explicitly: each pass is
given its ``now``; outcomes arrive through the same service as the webhook."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from campaigns import services
from campaigns.models import Campaign
from campaigns.tests.factories import make_assistant, make_campaign
from leads import transitions
from leads.dialer import outcomes, passes
from leads.dialer.backends.simulated import DEFAULT_ODDS, SimulatedBackend
from leads.models import Call, CallReport, Contact, ContactStatus, DoNotCallNumber, Lead, LeadStatus, StatusChange
from leads.services import do_not_call_add
from leads.tests.factories import make_lead, phone
from leads.transitions import Actor, Report

pytestmark = pytest.mark.django_db

# A Wednesday after any test data's creation time (Created leads are due from then).
T0 = datetime.datetime(2027, 6, 2, 15, 0, tzinfo=datetime.UTC)
MINUTE = datetime.timedelta(minutes=1)
QUIET = SimulatedBackend(seed=1, duration_scale=1000)  # its own outcomes come days later: tests answer


def start(campaign: Campaign) -> Campaign:
    return services.campaign_start(campaign=campaign)


def dial(now: datetime.datetime, backend=QUIET) -> list[Call]:
    """One dialer pass at ``now``; the calls it placed."""
    before = set(Call.objects.values_list("pk", flat=True))
    passes.run_pass(now=now, backend=backend)
    return list(Call.objects.exclude(pk__in=before).order_by("placed_at", "lead_id", "position"))


def answer(call: Call, outcome: str, now: datetime.datetime, **fields) -> str:
    return outcomes.outcome_receive(
        call.pk,
        Report(outcome=outcome, **fields),
        payload={"outcome": outcome},
        webhook_id=None,
        now=now,
        actor=Actor.system(),
    )


def fresh(obj):
    obj.refresh_from_db()
    return obj


def numbers(lead: Lead) -> list[Contact]:
    return list(lead.contacts.order_by("position"))


# --- claims ---------------------------------------------------------------------------


def test_a_claim_sets_processing_opens_one_call_and_counts_the_attempt():
    campaign = make_campaign()
    lead = make_lead(campaign=campaign, secondaries=["+12125550102"])

    start(campaign)
    [call] = dial(T0)

    lead = fresh(lead)
    assert lead.status == LeadStatus.PROCESSING and lead.attempts == 1 and lead.last_attempt_at == T0
    assert (call.lead_id, call.position, call.attempt, call.ended_at) == (lead.pk, 0, 1, None)
    assert [(n.status, n.attempts) for n in numbers(lead)] == [("processing", 1), ("created", 0)]
    change = StatusChange.objects.get(lead=lead, to_status=LeadStatus.PROCESSING)
    assert (change.from_status, change.source) == (LeadStatus.CREATED, StatusChange.Source.DIALER)
    assert call.provider_call_id.startswith("sim-")


def test_never_more_calls_than_the_parallel_limit():
    campaign = make_campaign(max_calls_in_parallel=2)
    leads = [make_lead(campaign=campaign) for _ in range(5)]

    start(campaign)
    first = dial(T0)
    assert [c.lead_id for c in first] == [leads[0].pk, leads[1].pk]  # Created: by creation time
    assert dial(T0 + MINUTE) == []  # both lines busy
    answer(first[0], "completed", T0 + 2 * MINUTE)
    [third] = dial(T0 + 3 * MINUTE)
    assert third.lead_id in {lead.pk for lead in leads[2:]}
    assert Call.objects.filter(ended_at__isnull=True).count() == 2


def test_the_queue_takes_the_oldest_due_first():
    campaign = make_campaign(max_calls_in_parallel=1)
    created, retry = make_lead(campaign=campaign), make_lead(campaign=campaign)
    # A Created lead is due since its creation; a retry since its time, here earlier.
    transitions.reschedule(
        Lead.objects.filter(pk=retry.pk), at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC), actor=Actor.system()
    )
    start(campaign)
    assert [c.lead_id for c in dial(T0)] == [retry.pk]
    assert fresh(created).status == LeadStatus.CREATED


def test_paused_and_draft_campaigns_are_not_dialled_but_calls_in_flight_finish():
    draft = make_campaign()
    make_lead(campaign=draft)
    campaign = make_campaign(max_calls_in_parallel=1)
    lead = make_lead(campaign=campaign)
    make_lead(campaign=campaign)
    start(campaign)
    [call] = dial(T0)
    services.campaign_pause(campaign=campaign)

    assert dial(T0 + MINUTE) == []
    assert answer(call, "completed", T0 + 2 * MINUTE) == "applied"
    assert fresh(lead).status == LeadStatus.COMPLETED
    assert dial(T0 + 3 * MINUTE) == []
    assert not Call.objects.filter(campaign=draft).exists()


# --- outcomes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "options", "lead_status"),
    [
        ("completed", {}, LeadStatus.COMPLETED),
        ("voicemail", {}, LeadStatus.COMPLETED),
        ("voicemail", {"retry_on_voicemail": True}, LeadStatus.RESCHEDULED),
        ("no-answer", {}, LeadStatus.RESCHEDULED),
        ("busy", {}, LeadStatus.RESCHEDULED),
        ("failed", {}, LeadStatus.RESCHEDULED),
    ],
)
def test_success_and_failure(outcome, options, lead_status):
    campaign = make_campaign(retry_interval=30, **options)
    lead = make_lead(campaign=campaign, secondaries=["+12125550102"])
    start(campaign)
    [call] = dial(T0)
    answer(call, outcome, T0 + MINUTE)

    lead = fresh(lead)
    assert lead.status == lead_status and lead.last_outcome == outcome
    primary, secondary = numbers(lead)
    assert secondary.status == ContactStatus.CREATED  # the other numbers keep their state
    if lead_status == LeadStatus.COMPLETED:
        assert primary.status == ContactStatus.COMPLETED and lead.next_attempt_at is None
    else:
        assert primary.status == ContactStatus.RESCHEDULED and lead.next_attempt_at == T0 + 31 * MINUTE


@pytest.mark.parametrize(
    ("report", "achieved"),
    [
        ({"goal_achieved": True}, True),
        ({"goal_achieved": False, "extracted_variables": {"booked": True}}, False),  # the flag wins
        ({"extracted_variables": {"booked": True}}, True),
        ({"extracted_variables": {"booked": "yes"}}, True),
        ({"extracted_variables": {"booked": False}}, False),
        ({}, False),  # missing means not achieved
    ],
)
def test_goal_incomplete_is_retried_when_the_campaign_says_so(report, achieved):
    campaign = make_campaign(retry_on_goal_incomplete=True, goal_completion_variable="booked")
    lead = make_lead(campaign=campaign)
    start(campaign)
    [call] = dial(T0)
    answer(call, "completed", T0 + MINUTE, **report)

    assert fresh(lead).status == (LeadStatus.COMPLETED if achieved else LeadStatus.RESCHEDULED)
    assert fresh(call).goal_achieved is achieved


def test_an_invalid_number_has_no_attempts_left_and_the_next_number_is_dialled_at_once():
    campaign = make_campaign(max_retries=3)
    lead = make_lead(campaign=campaign, secondaries=["+12125550102"])
    start(campaign)
    [call] = dial(T0)
    answer(call, "invalid-number", T0 + MINUTE)

    lead = fresh(lead)
    assert (lead.status, lead.next_attempt_at) == (LeadStatus.SCHEDULED, T0 + MINUTE)
    assert numbers(lead)[0].status == ContactStatus.REACHED_MAX_RETRIES
    [next_call] = dial(T0 + MINUTE)
    assert next_call.position == 1


def _dial_until_done(campaign: Campaign, lead: Lead, *, outcome: str = "no-answer") -> list[tuple[int, int]]:
    """Dial, answer every call with ``outcome``, and wait out each retry, until the
    lead stops; the (minute, position) of each call."""
    now, dialled = T0, []
    for _ in range(500):
        placed = dial(now)
        for call in placed:
            dialled.append((int((now - T0) / MINUTE), call.position))
            answer(call, outcome, now)
        lead = fresh(lead)
        if lead.status not in (LeadStatus.CREATED, LeadStatus.SCHEDULED, LeadStatus.RESCHEDULED):
            return dialled
        if not placed:
            now = max(now + MINUTE, lead.next_attempt_at or now)
    raise AssertionError("the lead never stopped")


@pytest.mark.parametrize("count", range(1, 12))
def test_exhaust_uses_up_each_number_in_turn(count):
    campaign = make_campaign(max_retries=2, retry_interval=10)
    lead = make_lead(campaign=campaign, secondaries=[phone() for _ in range(count - 1)])

    start(campaign)
    dialled = _dial_until_done(campaign, lead)

    # Each number 1 + 2 times, retries of a number 10 minutes apart, the next number at once.
    expected, minute = [], 0
    for position in range(count):
        for attempt in range(3):
            expected.append((minute, position))
            minute += 10 if attempt < 2 else 0
    assert dialled == expected
    lead = fresh(lead)
    assert lead.status == LeadStatus.REACHED_MAX_RETRIES and lead.attempts == 3 * count
    assert {(n.status, n.attempts) for n in numbers(lead)} == {(ContactStatus.REACHED_MAX_RETRIES, 3)}


@pytest.mark.parametrize("count", range(1, 12))
def test_cascade_tries_every_number_once_per_round(count):
    campaign = make_campaign(max_retries=1, retry_interval=10, secondary_strategy="cascade")
    lead = make_lead(campaign=campaign, secondaries=[phone() for _ in range(count - 1)])

    start(campaign)
    dialled = _dial_until_done(campaign, lead)

    # Two rounds: every number at once in turn, the second round 10 minutes later.
    assert dialled == [(0, p) for p in range(count)] + [(10, p) for p in range(count)]
    assert fresh(lead).status == LeadStatus.REACHED_MAX_RETRIES


def test_cascade_skips_numbers_without_attempts_and_a_success_ends_the_round():
    campaign = make_campaign(max_retries=1, retry_interval=10, secondary_strategy="cascade")
    lead = make_lead(campaign=campaign, secondaries=["+12125550102", "+12125550103"])
    start(campaign)
    [first] = dial(T0)
    answer(first, "invalid-number", T0)
    [second] = dial(T0)
    answer(second, "busy", T0)
    [third] = dial(T0)
    answer(third, "no-answer", T0)
    assert [first.position, second.position, third.position] == [0, 1, 2]
    assert dial(T0 + 9 * MINUTE) == []
    [fourth] = dial(T0 + 10 * MINUTE)
    assert fourth.position == 1  # number 0 was judged invalid
    answer(fourth, "completed", T0 + 11 * MINUTE)
    lead = fresh(lead)
    assert lead.status == LeadStatus.COMPLETED
    assert [n.status for n in numbers(lead)] == ["reached-max-retries", "completed", "rescheduled"]


def test_a_reschedule_by_hand_starts_a_new_cascade_round():
    campaign = make_campaign(max_retries=2, retry_interval=10, secondary_strategy="cascade")
    lead = make_lead(campaign=campaign, secondaries=["+12125550102", "+12125550103"])
    start(campaign)
    [first] = dial(T0)
    answer(first, "busy", T0)
    [second] = dial(T0)
    answer(second, "busy", T0)  # the round would go on with the third number
    transitions.reschedule(Lead.objects.filter(pk=lead.pk), at=T0 + MINUTE, actor=Actor.system())

    [again] = dial(T0 + MINUTE)
    assert (first.position, second.position, again.position) == (0, 1, 0)


def test_a_lowered_budget_takes_effect_from_the_next_dial():
    campaign = make_campaign(max_retries=3, retry_interval=10)
    lead = make_lead(campaign=campaign)
    start(campaign)
    [call] = dial(T0)
    answer(call, "no-answer", T0)
    Campaign.objects.filter(pk=campaign.pk).update(max_retries=0)

    assert dial(T0 + 10 * MINUTE) == []
    assert fresh(lead).status == LeadStatus.REACHED_MAX_RETRIES


# --- do-not-call ------------------------------------------------------------------------


def test_a_number_joining_the_list_mid_call_is_not_dialled_again_and_never_keeps_the_lead_alive():
    campaign = make_campaign(max_retries=2, retry_interval=10)
    lead = make_lead(campaign=campaign, secondaries=["+12125550102"])
    start(campaign)
    [call] = dial(T0)
    do_not_call_add(phones=[call.phone], actor=Actor.system())
    answer(call, "no-answer", T0)
    lead = fresh(lead)
    assert numbers(lead)[0].status == ContactStatus.BLACKLISTED
    assert (lead.status, lead.next_attempt_at) == (LeadStatus.SCHEDULED, T0)  # the next number at once
    [second] = dial(T0)
    assert second.position == 1

    do_not_call_add(phones=[second.phone], actor=Actor.system())
    answer(second, "busy", T0)
    assert fresh(lead).status == LeadStatus.BLACKLISTED


def test_a_due_lead_whose_numbers_all_joined_the_list_leaves_the_queue():
    campaign = make_campaign()
    lead = make_lead(campaign=campaign)
    Contact.objects.filter(lead=lead).update(status=ContactStatus.BLACKLISTED)  # as a bulk import leaves it
    DoNotCallNumber.objects.create(phone=numbers(lead)[0].phone)

    start(campaign)
    assert dial(T0) == []
    assert fresh(lead).status == LeadStatus.BLACKLISTED


# --- calling hours ----------------------------------------------------------------------


def test_calls_start_only_inside_the_leads_local_hours_and_days():
    campaign = make_campaign(
        allowed_hours_start=datetime.time(9),
        allowed_hours_end=datetime.time(17),
        allowed_days=["monday", "tuesday", "wednesday", "thursday", "friday"],
    )
    tokyo = make_lead(campaign=campaign, timezone="Asia/Tokyo")
    berlin = make_lead(campaign=campaign, timezone="Europe/Berlin")

    def local(zone: str, *args) -> datetime.datetime:
        return datetime.datetime(*args, tzinfo=ZoneInfo(zone))

    start(campaign)
    assert dial(local("Asia/Tokyo", 2027, 6, 2, 8, 59)) == []  # 01:59 in Berlin
    assert [c.lead_id for c in dial(local("Asia/Tokyo", 2027, 6, 2, 9, 0))] == [tokyo.pk]
    assert dial(local("Europe/Berlin", 2027, 6, 4, 17, 1)) == []  # Friday, after hours
    assert dial(local("Europe/Berlin", 2027, 6, 5, 10, 0)) == []  # a Saturday
    assert fresh(berlin).next_attempt_at == local("Europe/Berlin", 2027, 6, 7, 9, 0)  # held until Monday 9:00
    assert [c.lead_id for c in dial(local("Europe/Berlin", 2027, 6, 7, 17, 0, 59))] == [
        berlin.pk
    ]  # the end minute counts


def test_numbers_of_no_zone_use_the_campaigns_else_the_assistants():
    # +800 (international freephone) has no zone in libphonenumber's data, nor a rule.
    hours = {"allowed_hours_start": datetime.time(9), "allowed_hours_end": datetime.time(10)}
    own = make_campaign(timezone="America/Chicago", assistant=make_assistant(timezone="Asia/Tokyo"), **hours)
    inherited = make_campaign(assistant=make_assistant(timezone="Asia/Tokyo"), **hours)
    in_chicago = make_lead(campaign=own, primary="+80012345678")
    in_tokyo = make_lead(campaign=inherited, primary="+80012345678")

    start(own)
    start(inherited)
    assert [c.lead_id for c in dial(datetime.datetime(2027, 6, 2, 9, 30, tzinfo=ZoneInfo("America/Chicago")))] == [
        in_chicago.pk
    ]
    assert [c.lead_id for c in dial(datetime.datetime(2027, 6, 3, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo")))] == [
        in_tokyo.pk
    ]


def test_the_window_follows_a_daylight_saving_change():
    campaign = make_campaign(
        allowed_hours_start=datetime.time(9), allowed_hours_end=datetime.time(10), max_calls_in_parallel=5
    )
    lead = make_lead(campaign=campaign, timezone="America/New_York")
    # 13:30 UTC is 08:30 in New York on Saturday 13 March 2027 (EST) and 09:30 on
    # Monday the 15th (EDT, since the 14th).
    start(campaign)
    assert dial(datetime.datetime(2027, 3, 13, 13, 30, tzinfo=datetime.UTC)) == []
    assert [c.lead_id for c in dial(datetime.datetime(2027, 3, 15, 13, 30, tzinfo=datetime.UTC))] == [lead.pk]


# --- timeouts, dial errors --------------------------------------------------------------


def test_a_call_without_an_outcome_after_the_timeout_is_lost_and_counts_as_an_attempt():
    campaign = make_campaign(call_timeout=30, retry_interval=10)
    lead = make_lead(campaign=campaign)
    start(campaign)
    [call] = dial(T0)
    dial(T0 + 29 * MINUTE)
    assert fresh(call).ended_at is None

    dial(T0 + 30 * MINUTE)
    call, lead = fresh(call), fresh(lead)
    assert call.outcome == "lost" and call.ended_at == T0 + 30 * MINUTE
    assert (lead.status, lead.attempts, lead.next_attempt_at) == (LeadStatus.RESCHEDULED, 1, T0 + 40 * MINUTE)


def test_dial_errors_back_off_use_no_attempt_and_ten_in_a_row_pause_the_campaign():
    failing = SimulatedBackend(seed=1, dial_error_odds=1.0)
    campaign = make_campaign(retry_interval=10)
    lead = make_lead(campaign=campaign)

    now, waits = T0, []
    start(campaign)
    for _ in range(10):
        [call] = dial(now, failing)
        lead = fresh(lead)
        assert fresh(call).outcome == "dial-error" and "simulated dial error" in fresh(call).backend_data["error"]
        assert (lead.status, lead.attempts, numbers(lead)[0].attempts) == (LeadStatus.RESCHEDULED, 0, 0)
        waits.append(int((lead.next_attempt_at - now) / MINUTE))
        assert dial(lead.next_attempt_at - datetime.timedelta(seconds=1), failing) == []  # not before its time
        now = lead.next_attempt_at

    assert waits == [1, 2, 4, 8, 10, 10, 10, 10, 10, 10]  # capped at the retry interval
    campaign = fresh(campaign)
    assert campaign.status == Campaign.Status.PAUSED and "10 dial errors in a row" in campaign.status_reason
    assert dial(now) == []

    services.campaign_start(campaign=campaign)  # a resume starts the count again
    assert fresh(campaign).dial_errors_in_row == 0
    [call] = dial(now)
    assert fresh(call).outcome == "" and fresh(lead).dial_errors == 0 and fresh(lead).attempts == 1


def test_a_dial_error_retries_the_same_number():
    campaign = make_campaign(retry_interval=10, secondary_strategy="cascade")
    lead = make_lead(campaign=campaign, secondaries=["+12125550102"])
    start(campaign)
    [call] = dial(T0)
    answer(call, "busy", T0)
    [second] = dial(T0, SimulatedBackend(seed=1, dial_error_odds=1.0))
    assert second.position == 1
    [retry] = dial(T0 + MINUTE)
    assert retry.position == 1 and fresh(lead).attempts == 2


# --- races, replays, completion ---------------------------------------------------------


def test_a_late_outcome_after_lost_and_a_manual_complete_is_kept_but_moves_nothing():
    campaign = make_campaign(call_timeout=5)
    lead = make_lead(campaign=campaign)
    start(campaign)
    [call] = dial(T0)
    dial(T0 + 5 * MINUTE)  # lost
    transitions.complete(Lead.objects.filter(pk=lead.pk), actor=Actor.system())

    assert answer(call, "completed", T0 + 6 * MINUTE) == "kept"
    assert answer(call, "no-answer", T0 + 7 * MINUTE) == "kept"
    assert fresh(lead).status == LeadStatus.COMPLETED
    assert fresh(call).outcome == "lost"
    assert list(CallReport.objects.filter(call=call).values_list("applied", flat=True)) == [False, False]


def test_a_campaign_with_nothing_left_to_dial_completes():
    campaign = make_campaign()
    lead = make_lead(campaign=campaign)
    start(campaign)
    [call] = dial(T0)
    dial(T0)
    assert fresh(campaign).status == Campaign.Status.IN_PROGRESS  # a call in flight
    answer(call, "completed", T0)
    dial(T0 + MINUTE)
    campaign = fresh(campaign)
    assert campaign.status == Campaign.Status.COMPLETED and "no lead left" in campaign.status_reason
    assert fresh(lead).status == LeadStatus.COMPLETED


def test_a_campaign_set_not_to_complete_keeps_running():
    campaign = make_campaign(mark_complete_when_no_leads=False)
    make_lead(campaign=campaign)
    start(campaign)
    [call] = dial(T0)
    answer(call, "completed", T0)
    dial(T0 + MINUTE)
    assert fresh(campaign).status == Campaign.Status.IN_PROGRESS


def test_the_ai_receives_assistant_defaults_under_lead_values_under_the_numbers_own():
    assistant = make_assistant(
        variables=[
            {"name": "customer_name", "default_value": "there"},
            {"name": "language", "default_value": "English"},
            {"name": "contact_name", "default_value": "friend"},
        ]
    )
    campaign = make_campaign(assistant=assistant, secondary_strategy="cascade")
    lead = make_lead(
        campaign=campaign, variables={"customer_name": "Ana", "contact_name": "Ana"}, secondaries=["+12125550102"]
    )
    Contact.objects.filter(lead=lead, position=1).update(variables={"contact_name": "Ben"})
    start(campaign)
    [first] = dial(T0)
    assert first.variables == {"customer_name": "Ana", "language": "English", "contact_name": "Ana"}
    answer(first, "busy", T0)
    [second] = dial(T0)
    assert second.variables == {"customer_name": "Ana", "language": "English", "contact_name": "Ben"}


# --- the simulated backend --------------------------------------------------------------


def test_the_simulated_backend_reports_each_call_after_its_duration():
    campaign = make_campaign(max_calls_in_parallel=20, call_timeout=60)
    for _ in range(20):
        make_lead(campaign=campaign)
    start(campaign)
    backend = SimulatedBackend(seed=42)
    placed = dial(T0, backend)
    plans = {c.pk: fresh(c).backend_data for c in placed}
    assert len(placed) == 20 and len({p["outcome"] for p in plans.values()}) >= 3  # a mix of outcomes

    passes.run_pass(now=T0 + datetime.timedelta(seconds=4), backend=backend)  # the shortest calls last 1-5 s
    ended = [c for c in placed if fresh(c).ended_at]
    assert 0 < len(ended) < 20
    passes.run_pass(now=T0 + datetime.timedelta(minutes=5), backend=backend)
    for call in placed:
        call = fresh(call)
        plan = plans[call.pk]
        assert (call.outcome, call.duration_seconds) == (plan["outcome"], plan["duration"])
        assert call.ended_at <= T0 + datetime.timedelta(minutes=5)


def test_the_simulated_backend_is_the_same_for_a_seed():
    campaign = make_campaign(max_calls_in_parallel=10)
    for _ in range(10):
        make_lead(campaign=campaign)
    start(campaign)
    placed = dial(T0)

    def plans(seed):
        return [SimulatedBackend(seed=seed).place(call, now=T0).backend_data for call in placed]

    assert plans(7) == plans(7)
    assert plans(7) != plans(8)


@pytest.mark.parametrize(
    "odds", [{"busy": 0}, {"completed": 1, "voicemail": 0, "no-answer": 0, "busy": 0, "failed": 0, "invalid-number": 0}]
)
def test_the_simulated_odds_are_configurable(odds):
    campaign = make_campaign(max_calls_in_parallel=30)
    for _ in range(30):
        make_lead(campaign=campaign)
    start(campaign)
    backend = SimulatedBackend(seed=3, odds=odds)
    outcomes = {backend.place(call, now=T0).backend_data["outcome"] for call in dial(T0)}
    assert not outcomes & {name for name, weight in {**DEFAULT_ODDS, **odds}.items() if weight == 0}
