"""Who of a campaign cannot be called now (leads.dialer.held), with explicit time: a
US list without zones across four zones, a holiday, a cap over two campaigns, consent."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import CallingRule, Campaign
from campaigns.tests.factories import make_campaign
from leads.dialer.held import held_leads
from leads.models import Contact, Lead, Waiting
from leads.tests.factories import bulk_leads, make_call, make_lead

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
# A Tuesday after the US went to summer time (8 March 2026): New York 10:30 EDT,
# Chicago 09:30 CDT, Denver 08:30 MDT, Los Angeles 07:30 PDT.
NOW = datetime.datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
NEW_YORK, CHICAGO, DENVER, LOS_ANGELES = "+12125550101", "+13125550101", "+13035550101", "+14155550101"


def lead(campaign: Campaign, primary: str, *, secondaries=(), consent: str = "express-written", **fields) -> Lead:
    made = make_lead(campaign=campaign, primary=primary, secondaries=secondaries, consent=consent, **fields)
    # Created before NOW: due at NOW.
    Lead.objects.filter(pk=made.pk).update(created_at=NOW - datetime.timedelta(days=1))
    return made


@pytest.fixture
def campaign() -> Campaign:
    # 09:00 to 17:00 every day, in each number's own time (New York's for none).
    return make_campaign(
        allowed_hours_start=datetime.time(9),
        allowed_hours_end=datetime.time(17),
        timezone="America/New_York",
        requires_consent="express-written",
    )


def test_four_zones_a_holiday_a_cap_and_consent(campaign):
    CallingRule.objects.create(name="Illinois holiday", country_code="1", region="US-IL", holidays=["2026-03-10"])
    CallingRule.objects.create(name="Cap", country_code="1", max_calls_24h=2)
    capped = lead(campaign, NEW_YORK)
    lead(campaign, "+12125550102")  # New York, no calls: dialled now
    lead(campaign, DENVER)  # opens at 09:00 MDT, 15:00 UTC
    lead(campaign, LOS_ANGELES)  # opens at 09:00 PDT, 16:00 UTC
    lead(campaign, CHICAGO)  # inside the hours, but Illinois's holiday
    lead(campaign, "+14155550102", timezone="Europe/London")  # its own zone: 14:30 there
    spent = lead(campaign, "+12125550103", secondaries=["+14155550103"])  # primary spent: LA next
    Contact.objects.filter(lead=spent, position=0).update(status="reached-max-retries")
    lead(campaign, "+12125550104", consent="express")  # not written: never claimed
    held = lead(campaign, "+12125550105")
    Lead.objects.filter(pk=held.pk).update(
        status="rescheduled", waiting=Waiting.WINDOW, next_attempt_at=NOW + datetime.timedelta(hours=3)
    )
    later = lead(campaign, "+12125550106")  # a retry due later: waiting for its time, not held
    Lead.objects.filter(pk=later.pk).update(status="scheduled", next_attempt_at=NOW + datetime.timedelta(hours=1))
    # Two calls to the capped number in 24 hours, one from another campaign; older
    # calls and dial errors do not count.
    make_call(capped, placed_at=NOW - datetime.timedelta(hours=2), outcome="no-answer")
    other = make_lead(primary=NEW_YORK)
    make_call(other, placed_at=NOW - datetime.timedelta(hours=20), outcome="busy")
    make_call(other, placed_at=NOW - datetime.timedelta(hours=1), outcome="dial-error")
    make_call(other, placed_at=NOW - datetime.timedelta(hours=25), outcome="busy")
    # One call only to another New York number: under the cap.
    make_call(other, placed_at=NOW - datetime.timedelta(hours=1), outcome="busy", phone="+12125550102")

    counted = held_leads(campaign, now=NOW)

    assert (counted.outside_window, counted.over_cap, counted.without_consent) == (5, 1, 1)
    assert counted.next_opening == datetime.datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    assert counted.next_opening_local == "09:00 MDT"
    assert counted.next_opening_in == "30 min"
    assert counted.required_consent == "Express written"


def test_the_cap_frees_after_24_hours(campaign):
    CallingRule.objects.create(name="Cap", country_code="1", max_calls_24h=1)
    capped = lead(campaign, NEW_YORK)
    make_call(capped, placed_at=NOW - datetime.timedelta(hours=23, minutes=59), outcome="no-answer")

    assert held_leads(campaign, now=NOW).over_cap == 1
    assert held_leads(campaign, now=NOW + datetime.timedelta(minutes=1)).over_cap == 0


def test_the_seven_day_cap_and_a_state_narrower_than_the_campaign(campaign):
    CallingRule.objects.create(name="Weekly", country_code="1", max_calls_7d=3)
    CallingRule.objects.create(name="New York late start", country_code="1", region="US-NY", earliest="11:00")
    weekly = lead(campaign, CHICAGO)
    for days in (1, 3, 6):
        make_call(weekly, placed_at=NOW - datetime.timedelta(days=days), outcome="no-answer")
    lead(campaign, NEW_YORK)  # 10:30 in New York: before the state's 11:00

    counted = held_leads(campaign, now=NOW)

    assert (counted.outside_window, counted.over_cap, counted.without_consent) == (1, 1, 0)
    assert counted.next_opening == datetime.datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 11:00 EDT
    assert counted.next_opening_local == "11:00 EDT"


def test_a_campaign_without_consent_required_counts_none_and_no_day_allowed_never_opens():
    campaign = make_campaign(allowed_days=["sunday"], allowed_hours_start=datetime.time(9))
    lead(campaign, NEW_YORK, consent="none")

    counted = held_leads(campaign, now=NOW)

    assert (counted.outside_window, counted.without_consent) == (1, None)
    assert counted.next_opening == datetime.datetime(2026, 3, 15, 13, 0, tzinfo=UTC)  # Sunday 09:00 EDT
    assert counted.next_opening_local == "Sun 09:00 EDT"
    assert counted.next_opening_in == "4 days 22 h"


def test_the_queries_do_not_grow_with_the_leads(campaign):
    CallingRule.objects.create(name="Cap", country_code="1", max_calls_24h=2)
    Campaign.objects.filter(pk=campaign.pk).update(requires_consent="none")
    campaign.refresh_from_db()
    bulk_leads(campaign, 50)
    Lead.objects.update(created_at=NOW - datetime.timedelta(days=1))
    with CaptureQueriesContext(connection) as few:
        small = held_leads(campaign, now=NOW)
    bulk_leads(campaign, 500, start=50)
    Lead.objects.update(created_at=NOW - datetime.timedelta(days=1))
    with CaptureQueriesContext(connection) as many:
        large = held_leads(campaign, now=NOW)

    assert len(many) == len(few) <= 8  # with a savepoint, and PostgreSQL's SET LOCAL
    # 07:30 in Los Angeles (the bulk leads' +1 415): all outside.
    assert (small.outside_window, large.outside_window) == (50, 550)
