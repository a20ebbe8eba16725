"""Each number dialled only inside its own window and under its caps
(results-and-compliance.md §3–§4), with time driven explicitly."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from campaigns import services
from campaigns.models import CallingRule
from campaigns.tests.factories import make_campaign
from leads import transitions
from leads.dialer import passes, windows
from leads.dialer.backends.simulated import SimulatedBackend
from leads.dialer.hours import number_zones
from leads.models import Call, Lead, LeadStatus, StatusChange
from leads.tests.factories import make_lead
from leads.transitions import Actor, Report

pytestmark = pytest.mark.django_db

QUIET = SimulatedBackend(seed=1, duration_scale=1000)
UTC = datetime.UTC
NY, LA, CHICAGO, DENVER = "+12125550101", "+13105550101", "+13125550101", "+13035550101"
PHOENIX, ALASKA = "+16025550101", "+19075550101"


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def dial(now: datetime.datetime) -> list[Call]:
    before = set(Call.objects.values_list("pk", flat=True))
    passes.run_pass(now=now, backend=QUIET)
    return list(Call.objects.exclude(pk__in=before).order_by("lead_id"))


def answer(call: Call, outcome: str, now: datetime.datetime, **fields) -> None:
    transitions.record_outcome(call.pk, Report(outcome=outcome, **fields), now=now, actor=Actor.system())


def fresh(obj):
    obj.refresh_from_db()
    return obj


def rule(**fields) -> CallingRule:
    fields.setdefault("name", "a test rule")
    fields.setdefault("country_code", "1")
    return CallingRule.objects.create(**fields)


def federal() -> CallingRule:
    return CallingRule.objects.get(country_code="1", region="")


# --- the window itself ---------------------------------------------------------------


def test_a_number_without_a_lead_zone_is_read_in_its_prefix_zones():
    campaign = make_campaign(timezone="Europe/Lisbon")
    lead = make_lead(campaign=campaign, primary=NY)
    zoned = make_lead(campaign=campaign, primary=LA, timezone="Asia/Tokyo")
    unknown = make_lead(campaign=campaign, primary="+80012345678")
    assert number_zones(lead, lead.contacts.get()) == (("America/New_York",), "number")
    assert number_zones(zoned, zoned.contacts.get()) == (("Asia/Tokyo",), "lead")
    assert number_zones(unknown, unknown.contacts.get()) == (("Europe/Lisbon",), "campaign")


def test_a_prefix_spanning_two_zones_is_allowed_only_inside_both():
    campaign = make_campaign()
    # January: Anchorage is UTC-9, Adak UTC-10; 8:00 in Adak is 9:00 in Anchorage.
    assert windows.window_opening(campaign, ALASKA, "", at(2027, 1, 6, 17, 0)) == at(2027, 1, 6, 18, 0)
    assert windows.window_opening(campaign, ALASKA, "", at(2027, 1, 7, 6, 0)) == at(2027, 1, 7, 6, 0)  # 21:00
    assert windows.window_opening(campaign, ALASKA, "", at(2027, 1, 7, 6, 1)) == at(2027, 1, 7, 18, 0)


def test_a_state_rule_narrower_than_the_campaign_window_applies_to_its_numbers_only():
    rule(name="California: until 8 pm", region="US-CA", latest=datetime.time(20, 0))
    campaign = make_campaign(max_calls_in_parallel=5)
    california, arizona = make_lead(campaign=campaign, primary=LA), make_lead(campaign=campaign, primary=PHOENIX)
    services.campaign_start(campaign=campaign)
    # 03:30 UTC in June: 20:30 in Los Angeles (PDT) and in Phoenix (MST).
    assert [c.lead_id for c in dial(at(2027, 6, 3, 3, 30))] == [arizona.pk]
    california = fresh(california)
    assert (california.status, california.waiting) == (LeadStatus.CREATED, "window")
    assert california.next_attempt_at == at(2027, 6, 3, 15, 0)  # 08:00 PDT
    assert "America/Los_Angeles" in california.waiting_note and "opens Thu 08:00 PDT" in california.waiting_note


def test_no_call_on_a_holiday_of_a_rule():
    rule(name="Independence Day", holidays=["2027-07-05"])
    campaign = make_campaign()
    lead = make_lead(campaign=campaign, primary=NY)
    services.campaign_start(campaign=campaign)
    assert dial(at(2027, 7, 5, 15, 0)) == []
    assert fresh(lead).next_attempt_at == at(2027, 7, 6, 12, 0)  # 08:00 EDT the day after
    assert len(dial(at(2027, 7, 6, 12, 0))) == 1


def test_a_disabled_rule_does_not_apply():
    federal_rule = federal()
    federal_rule.enabled = False
    federal_rule.save()
    campaign = make_campaign()
    make_lead(campaign=campaign, primary=NY)
    services.campaign_start(campaign=campaign)
    assert len(dial(at(2027, 6, 2, 5, 0))) == 1  # 01:00 in New York


def test_a_us_list_without_zones_is_dialled_only_in_each_callees_hours_through_a_dst_change():
    campaign = make_campaign(max_calls_in_parallel=10, max_retries=10, retry_interval=240)
    for number in (NY, CHICAGO, DENVER, LA):
        make_lead(campaign=campaign, primary=number)
    services.campaign_start(campaign=campaign)
    now = at(2027, 3, 13, 5, 15)  # Saturday, after 21:00 everywhere; clocks go forward on Sunday at 2:00
    while now < at(2027, 3, 15, 12, 0):
        for call in dial(now):
            answer(call, "no-answer", now)
        now += datetime.timedelta(minutes=15)
    calls = list(Call.objects.all())
    zone = {NY: "America/New_York", CHICAGO: "America/Chicago", DENVER: "America/Denver", LA: "America/Los_Angeles"}
    for call in calls:
        local = call.placed_at.astimezone(ZoneInfo(zone[call.phone]))
        assert datetime.time(8, 0) <= local.time() <= datetime.time(21, 0), (call.phone, local)
    first_each_day = {}
    for call in sorted(calls, key=lambda c: c.placed_at):
        local_day = call.placed_at.astimezone(ZoneInfo(zone[call.phone])).date()
        first_each_day.setdefault((call.phone, local_day), call.placed_at)
    # 08:00 local: EST/CST/MST/PST on Saturday, EDT/CDT/MDT/PDT from Sunday.
    assert first_each_day[(NY, datetime.date(2027, 3, 13))] == at(2027, 3, 13, 13, 0)
    assert first_each_day[(NY, datetime.date(2027, 3, 14))] == at(2027, 3, 14, 12, 0)
    assert first_each_day[(LA, datetime.date(2027, 3, 13))] == at(2027, 3, 13, 16, 0)
    assert first_each_day[(LA, datetime.date(2027, 3, 14))] == at(2027, 3, 14, 15, 0)


def test_a_secondary_number_in_another_zone_is_dialled_while_the_primary_is_outside():
    campaign = make_campaign()
    lead = make_lead(campaign=campaign, primary=LA, secondaries=[NY])
    services.campaign_start(campaign=campaign)
    # 12:30 UTC in June: 08:30 in New York, 05:30 in Los Angeles.
    [call] = dial(at(2027, 6, 2, 12, 30))
    assert (call.phone, call.position) == (NY, 1)
    assert fresh(lead).waiting == ""


# --- caps -------------------------------------------------------------------------------


def test_the_24_hour_cap_counts_calls_of_every_campaign_and_frees_at_the_right_minute():
    capped = federal()
    capped.max_calls_24h = 2
    capped.save()
    first, second = make_campaign(retry_interval=10), make_campaign(retry_interval=10)
    one, other = make_lead(campaign=first, primary=NY), make_lead(campaign=second, primary=NY)
    services.campaign_start(campaign=first)
    t = at(2027, 6, 2, 14, 0)
    [call] = dial(t)
    answer(call, "no-answer", t + datetime.timedelta(minutes=1))
    services.campaign_start(campaign=second)
    [call] = dial(t + datetime.timedelta(minutes=10))  # the same number, from the other campaign
    answer(call, "no-answer", t + datetime.timedelta(minutes=11))
    assert dial(t + datetime.timedelta(minutes=20)) == []
    held = fresh(one)
    assert (held.waiting, held.next_attempt_at) == ("cap", t + datetime.timedelta(hours=24))
    assert held.waiting_note.startswith("2 calls in 24 hours (US and Canada")
    assert held.status == LeadStatus.SCHEDULED or held.status == LeadStatus.RESCHEDULED
    assert dial(t + datetime.timedelta(hours=24, minutes=-1)) == []
    assert len(dial(t + datetime.timedelta(hours=24))) == 1  # one call left the 24 hours: one fits
    assert sorted([fresh(one).waiting, fresh(other).waiting]) == ["", "cap"]


def test_a_dial_error_does_not_count_towards_a_cap():
    capped = federal()
    capped.max_calls_24h = 1
    capped.save()
    campaign = make_campaign()
    lead = make_lead(campaign=campaign, primary=NY)
    services.campaign_start(campaign=campaign)
    [call] = dial(at(2027, 6, 2, 14, 0))
    transitions.dial_failed(call.pk, error="down", now=at(2027, 6, 2, 14, 0), actor=Actor.system())
    assert len(dial(at(2027, 6, 2, 14, 5))) == 1
    assert fresh(lead).status == LeadStatus.PROCESSING


# --- holds --------------------------------------------------------------------------------


def test_a_hold_keeps_the_status_writes_no_history_and_a_reset_clears_it():
    campaign = make_campaign()
    lead = make_lead(campaign=campaign, primary=NY)
    services.campaign_start(campaign=campaign)
    history = StatusChange.objects.filter(lead=lead).count()
    assert dial(at(2027, 6, 2, 3, 0)) == []  # 23:00 in New York
    lead = fresh(lead)
    assert (lead.status, lead.waiting) == (LeadStatus.CREATED, "window")
    assert StatusChange.objects.filter(lead=lead).count() == history
    transitions.reset(Lead.objects.filter(pk=lead.pk), actor=Actor.system())  # Created: skipped, no move
    transitions.complete(Lead.objects.filter(pk=lead.pk), actor=Actor.system())
    lead = fresh(lead)
    assert (lead.status, lead.waiting, lead.waiting_note) == (LeadStatus.COMPLETED, "", "")
    transitions.reset(Lead.objects.filter(pk=lead.pk), actor=Actor.system())
    lead = fresh(lead)
    assert (lead.status, lead.next_attempt_at, lead.waiting) == (LeadStatus.CREATED, None, "")


def test_holds_per_claim_are_bounded(monkeypatch):
    monkeypatch.setattr(passes, "MAX_HOLDS_PER_CLAIM", 3)
    campaign = make_campaign()
    for _ in range(7):
        make_lead(campaign=campaign, primary=None)
    services.campaign_start(campaign=campaign)
    dial(at(2027, 6, 2, 7, 0))  # 00:00 to 03:00 in every US zone of the factory's numbers
    assert Lead.objects.filter(campaign=campaign).exclude(waiting="").count() == 3


def test_a_callback_outside_the_window_moves_to_its_opening_by_the_rules():
    campaign = make_campaign()  # its own hours: all day; the federal rule: 8 to 21
    lead = make_lead(campaign=campaign, primary=NY)
    services.campaign_start(campaign=campaign)
    [call] = dial(at(2027, 6, 2, 14, 0))
    answer(call, "completed", at(2027, 6, 2, 14, 5), callback_at=datetime.datetime(2027, 6, 2, 22, 0))
    lead = fresh(lead)
    assert (lead.status, lead.next_attempt_at) == (LeadStatus.RESCHEDULED, at(2027, 6, 3, 12, 0))


def test_leads_without_the_required_consent_are_never_claimed():
    campaign = make_campaign(requires_consent="express", max_calls_in_parallel=5)
    without = make_lead(campaign=campaign, primary=NY)
    given = make_lead(campaign=campaign, primary=LA, consent="express-written")
    services.campaign_start(campaign=campaign)
    assert [c.lead_id for c in dial(at(2027, 6, 2, 17, 0))] == [given.pk]
    assert fresh(without).status == LeadStatus.CREATED
