"""The campaign page's figures (leads.dialer.dashboard) with explicit calls and time:
the rates of the last 24 hours, calls per hour, the finish estimate, the goals, and
the campaigns list's progress."""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign
from campaigns.tests.factories import make_campaign
from leads import services as leads_services
from leads import transitions
from leads.dialer import passes
from leads.dialer.backends.simulated import SimulatedBackend
from leads.dialer.dashboard import HOURS_SHOWN, campaign_dashboard, campaign_progress, held_counts
from leads.models import Call, Lead, LeadStatus
from leads.tests.factories import bulk_leads, make_call, make_lead
from leads.transitions import Actor

pytestmark = pytest.mark.django_db


UTC = datetime.UTC
NOW = datetime.datetime(2026, 3, 10, 15, 30, tzinfo=UTC)


def ago(**delta) -> datetime.datetime:
    return NOW - datetime.timedelta(**delta)


@pytest.fixture
def campaign() -> Campaign:
    return make_campaign(name="Spring")


def test_the_rates_are_over_the_calls_placed_in_the_last_24_hours_that_ended(campaign):
    lead = make_lead(campaign=campaign)
    other = make_lead()  # another campaign's calls are none of this one's
    for minutes, duration, goal in [(10, 60, True), (100, 120, False), (300, None, None)]:
        make_call(
            lead, placed_at=ago(minutes=minutes), outcome="completed", duration_seconds=duration, goal_achieved=goal
        )
    for outcome, n in [("voicemail", 2), ("no-answer", 3), ("lost", 1), ("busy", 1)]:
        for i in range(n):
            make_call(lead, placed_at=ago(hours=2, minutes=i), outcome=outcome, duration_seconds=30)
    for i in range(2):
        make_call(lead, placed_at=ago(hours=1, minutes=i), outcome="dial-error")
    make_call(make_lead(campaign=campaign), placed_at=ago(minutes=1))  # in flight: not ended
    make_call(lead, placed_at=ago(hours=24, minutes=1), outcome="completed", duration_seconds=999, goal_achieved=True)
    make_call(lead, placed_at=NOW + datetime.timedelta(minutes=1), outcome="completed", goal_achieved=True)
    make_call(other, placed_at=ago(minutes=5), outcome="completed", duration_seconds=10, goal_achieved=True)

    rates = campaign_dashboard(campaign, now=NOW).rates

    assert (rates.ended, rates.conversations, rates.goals, rates.voicemails, rates.dial_errors) == (10, 3, 1, 2, 2)
    assert rates.answer_rate == 30.0  # 3 conversations of 10 ended calls
    assert rates.goal_rate == 33.3  # 1 goal of 3 conversations
    assert rates.voicemail_rate == 20.0  # 2 of 10
    # The conversations that reported a length: (60 + 120) / 2; voicemails' lengths are not conversations.
    assert (rates.average_conversation, rates.average_conversation_text) == (90, "1 min 30 s")


def test_the_goals_count_every_conversation_that_achieved_the_goal_since_the_start(campaign):
    lead = make_lead(campaign=campaign)
    make_call(lead, placed_at=ago(days=20), outcome="completed", goal_achieved=True)
    make_call(lead, placed_at=ago(minutes=5), outcome="completed", goal_achieved=True)
    make_call(lead, placed_at=ago(minutes=6), outcome="completed", goal_achieved=False)
    # A goal reported with a call that had no conversation is no goal achieved.
    make_call(lead, placed_at=ago(minutes=7), outcome="voicemail", goal_achieved=True)
    make_call(make_lead(), placed_at=ago(minutes=5), outcome="completed", goal_achieved=True)

    assert campaign_dashboard(campaign, now=NOW).goals_total == 2


@pytest.mark.usefixtures("without_calling_rules")  # dials at the clock's time
def test_the_goal_of_a_conversation_is_the_goal_variables_when_the_report_has_none():
    campaign = make_campaign(goal_completion_variable="booked")
    make_lead(campaign=campaign)
    make_lead(campaign=campaign)
    services.campaign_start(campaign=campaign)
    backend = SimulatedBackend(
        seed=3, odds={"completed": 1, "voicemail": 0, "no-answer": 0, "busy": 0, "failed": 0, "invalid-number": 0}
    )
    now = timezone.now()
    passes.run_pass(now=now, backend=backend)
    for call in Call.objects.all():
        transitions.record_outcome(
            call.pk,
            transitions.Report(outcome="completed", duration_seconds=40, extracted_variables={"booked": "yes"}),
            now=now + datetime.timedelta(minutes=1),
            actor=Actor.system(),
        )
    dashboard = campaign_dashboard(campaign, now=now + datetime.timedelta(minutes=2))
    assert (dashboard.rates.conversations, dashboard.rates.goals, dashboard.rates.goal_rate) == (2, 2, 100.0)
    assert dashboard.goals_total == 2 and dashboard.rates.average_conversation == 40


def test_calls_per_hour_are_24_clock_hours_the_current_one_last(campaign):
    lead = make_lead(campaign=campaign)
    make_call(lead, placed_at=ago(minutes=5), outcome="busy")  # 15:25, this hour
    make_call(lead, placed_at=ago(minutes=29), outcome="busy")  # 15:01
    make_call(lead, placed_at=ago(minutes=31), outcome="completed")  # 14:59, the hour before
    make_call(lead, placed_at=ago(hours=1), outcome="dial-error")  # 14:30: a dial error, apart
    make_call(lead, placed_at=ago(hours=23, minutes=30), outcome="busy")  # 16:00 yesterday: the first bar
    # 15:50 yesterday: before the chart's first hour, so in no figure.
    make_call(lead, placed_at=ago(hours=24, minutes=-20), outcome="busy")

    dashboard = campaign_dashboard(campaign, now=NOW)
    bars = dashboard.calls_per_hour

    assert len(bars) == HOURS_SHOWN == 24
    assert bars[0].start == datetime.datetime(2026, 3, 9, 16, tzinfo=UTC)
    assert bars[-1].start == datetime.datetime(2026, 3, 10, 15, tzinfo=UTC)
    assert [b.calls for b in bars] == [1, *[0] * 21, 1, 2]
    assert [b.dial_errors for b in bars][-2:] == [1, 0]
    assert [b.height for b in bars][-3:] == [0.0, 50.0, 100.0]
    assert dashboard.rates.ended == 4 and dashboard.calls_24h == 5


def test_a_settled_hour_is_read_once_and_an_hour_with_a_call_in_flight_again(campaign):
    lead = make_lead(campaign=campaign)
    make_call(lead, placed_at=ago(hours=5), outcome="busy")  # 10:30: ended, its timeout long past
    # 11:30, still in flight four hours on (the dialer was stopped): its hour is not over.
    in_flight = make_call(make_lead(campaign=campaign), placed_at=ago(hours=4))
    assert campaign_dashboard(campaign, now=NOW).rates.ended == 1

    make_call(lead, placed_at=ago(hours=5, minutes=10), outcome="busy")  # 10:20: not read again
    Call.objects.filter(pk=in_flight.pk).update(ended_at=ago(hours=3), outcome="lost")
    with CaptureQueriesContext(connection) as queries:
        dashboard = campaign_dashboard(campaign, now=NOW + datetime.timedelta(seconds=3))

    assert dashboard.rates.ended == 2
    assert [b.calls for b in dashboard.calls_per_hour][-6:-4] == [1, 1]  # 10:00 and 11:00
    (calls,) = [q["sql"] for q in queries if "DATE_TRUNC" in q["sql"].upper() or "django_datetime_trunc" in q["sql"]]
    assert "11:00:00" in calls  # read from 11:00 on, the first hour not settled


def test_the_chart_names_its_hours_in_the_sites_zone(admin_client_logged, campaign, settings):
    settings.TIME_ZONE = "America/New_York"
    lead = make_lead(campaign=campaign)
    now = timezone.now()
    make_call(lead, placed_at=now - datetime.timedelta(seconds=5), outcome="busy")
    response = admin_client_logged.get(f"/admin/campaigns/campaign/{campaign.pk}/dashboard/")
    html = response.content.decode()
    this_hour = response.context["dashboard"].calls_per_hour[-1].start
    hour = timezone.localtime(this_hour, timezone.get_current_timezone()).strftime("%H:00")
    assert "Calls per hour, last 24 hours (hours in America/New_York)" in html
    assert f"{hour} America/New_York: 1 call (this hour so far)" in html
    assert html.count('class="hour-bar"') == 24


def in_progress(campaign: Campaign, leads: int) -> None:
    bulk_leads(campaign, leads)
    services.campaign_start(campaign=campaign)
    campaign.refresh_from_db()


def test_the_finish_is_the_leads_still_to_dial_at_the_pace_of_the_last_24_hours(campaign):
    in_progress(campaign, 10)
    lead = Lead.objects.first()
    # 20 calls over the last 10 hours (the first 10 hours ago): 2 an hour.
    for i in range(20):
        make_call(lead, placed_at=ago(hours=10) + datetime.timedelta(minutes=30 * i), outcome="no-answer")
    make_call(lead, placed_at=ago(minutes=3), outcome="dial-error")  # moves no lead: no pace

    finish = campaign_dashboard(campaign, now=NOW).finish

    assert (finish.leads, finish.calls_per_hour) == (10, 2.0)
    assert finish.at == NOW + datetime.timedelta(hours=5)


def test_a_burst_of_first_calls_counts_as_an_hour_of_pace(campaign):
    in_progress(campaign, 10)
    lead = Lead.objects.first()
    for i in range(5):
        make_call(lead, placed_at=ago(minutes=10 - i), outcome="busy")
    finish = campaign_dashboard(campaign, now=NOW).finish
    assert finish.calls_per_hour == 5.0 and finish.at == NOW + datetime.timedelta(hours=2)


def test_the_page_shows_the_finish_with_its_zone(admin_client_logged, campaign, settings):
    settings.TIME_ZONE = "Europe/Paris"
    in_progress(campaign, 3)
    now = timezone.now()
    for i in range(3):
        make_call(Lead.objects.first(), placed_at=now - datetime.timedelta(minutes=50 - i), outcome="busy")
    response = admin_client_logged.get(f"/admin/campaigns/campaign/{campaign.pk}/dashboard/")
    html = response.content.decode()
    dashboard = response.context["dashboard"]
    assert dashboard.finish.at == dashboard.now + datetime.timedelta(hours=1)
    at = timezone.localtime(dashboard.finish.at, timezone.get_current_timezone())
    assert f"at the earliest around {at:%-d %b %Y, %H:%M} (Europe/Paris)" in html
    assert "3 leads still to dial at 3 calls an hour" in html


@pytest.mark.parametrize(
    ("state", "note"),
    [
        ("draft", "none until the campaign is started"),
        ("paused", "none while the campaign is paused"),
        ("completed", "the campaign is completed"),
    ],
)
def test_a_campaign_not_dialled_has_no_finish_estimate(campaign, state, note):
    bulk_leads(campaign, 3)
    make_call(Lead.objects.first(), placed_at=ago(minutes=5), outcome="busy")
    if state != "draft":
        services.campaign_start(campaign=campaign)
        if state == "paused":
            services.campaign_pause(campaign=campaign)
        else:
            services.campaign_complete(campaign_id=campaign.pk, reason="done")
    campaign.refresh_from_db()
    finish = campaign_dashboard(campaign, now=NOW).finish
    assert (finish.at, finish.note) == (None, note)


def test_no_lead_left_to_dial_is_no_estimate(campaign):
    in_progress(campaign, 2)
    transitions.complete(Lead.objects.all(), actor=Actor.system())
    make_call(Lead.objects.first(), placed_at=ago(minutes=5), outcome="completed")
    finish = campaign_dashboard(campaign, now=NOW).finish
    assert (finish.at, finish.leads, finish.note) == (None, 0, "no lead left to dial")


def test_a_pace_that_would_take_over_a_year_says_so(campaign):
    in_progress(campaign, 50)
    make_call(Lead.objects.first(), placed_at=ago(hours=23), outcome="busy")  # 1 call in 23 hours
    finish = campaign_dashboard(campaign, now=NOW).finish
    # 50 leads at one call per 23 hours: 48 days. The same pace with 400 leads: 383 days.
    assert abs(finish.at - (NOW + datetime.timedelta(hours=50 * 23))) < datetime.timedelta(seconds=1)
    bulk_leads(campaign, 350, start=50)
    finish = campaign_dashboard(campaign, now=NOW).finish
    assert (finish.at, finish.note) == (None, "more than a year at this pace")


def test_an_empty_campaign_has_no_rate_no_pace_and_24_empty_hours(admin_client_logged, campaign):
    dashboard = campaign_dashboard(campaign, now=NOW)
    rates = dashboard.rates
    assert (rates.answer_rate, rates.goal_rate, rates.voicemail_rate, rates.average_conversation) == (None,) * 4
    assert [b.calls for b in dashboard.calls_per_hour] == [0] * 24
    assert {b.height for b in dashboard.calls_per_hour} == {0.0}
    assert dashboard.goals_total == 0 and dashboard.finish.at is None
    assert dashboard.finish.note == "none until the campaign is started"
    html = admin_client_logged.get(f"/admin/campaigns/campaign/{campaign.pk}/dashboard/").content.decode()
    assert html.count('data-rate="answer">—<') == 1 and "no ended call yet" in html and "no conversation yet" in html


def test_a_started_campaign_without_calls_is_not_enough_calls_to_estimate(campaign):
    in_progress(campaign, 4)
    finish = campaign_dashboard(campaign, now=NOW).finish
    assert (finish.at, finish.leads, finish.note) == (None, 4, "not enough calls yet to estimate")


def test_a_campaign_with_only_dial_errors_has_no_rate_and_no_pace(admin_client_logged, campaign):
    in_progress(campaign, 3)
    for i in range(4):
        make_call(Lead.objects.first(), placed_at=ago(minutes=20 + i), outcome="dial-error")
    dashboard = campaign_dashboard(campaign, now=NOW)
    assert (dashboard.rates.ended, dashboard.rates.dial_errors, dashboard.rates.answer_rate) == (0, 4, None)
    assert (dashboard.finish.calls_per_hour, dashboard.finish.note) == (None, "not enough calls yet to estimate")
    assert [b.calls for b in dashboard.calls_per_hour] == [0] * 24
    assert dashboard.calls_per_hour[-1].dial_errors == 4
    # Still shown among the outcomes, and said to be in no rate.
    assert dashboard.outcomes_24h[0][:2] == ("Dial error (never reached the provider)", 4)


def test_the_dashboard_reads_a_fixed_number_of_queries_whatever_the_calls(campaign):
    lead = make_lead(campaign=campaign)
    make_call(lead, placed_at=ago(minutes=5), outcome="busy")
    with CaptureQueriesContext(connection) as few:
        campaign_dashboard(campaign, now=NOW)
    for hour in range(24):
        make_call(lead, placed_at=ago(hours=hour, minutes=1), outcome="completed", goal_achieved=True)
    cache.clear()  # the held counts serve a minute: counted again, as the first time
    with CaptureQueriesContext(connection) as many:
        campaign_dashboard(campaign, now=NOW)
    assert len(many) == len(few)


def test_the_campaigns_progress_is_the_share_of_leads_done_and_their_goals():
    spring, empty = make_campaign(), make_campaign()
    bulk_leads(spring, 10)
    ids = list(Lead.objects.filter(campaign=spring).order_by("pk").values_list("pk", flat=True))
    transitions.complete(Lead.objects.filter(pk__in=ids[:3]), actor=Actor.system())
    transitions.stop(Lead.objects.filter(pk__in=ids[3:5]), actor=Actor.system())
    leads_services.do_not_call_leads(leads=Lead.objects.filter(pk=ids[5]), actor=Actor.system())
    make_call(Lead.objects.get(pk=ids[0]), placed_at=ago(days=3), outcome="completed", goal_achieved=True)
    make_call(Lead.objects.get(pk=ids[1]), placed_at=ago(days=3), outcome="completed", goal_achieved=False)

    progress = campaign_progress([spring.pk, empty.pk])

    assert Lead.objects.filter(campaign=spring, status=LeadStatus.BLACKLISTED).count() == 1
    done = progress[spring.pk]
    assert (done.total, done.completed, done.max_retries, done.do_not_call, done.goals) == (10, 3, 2, 1, 1)
    assert (done.finished, done.share, done.part(done.completed)) == (6, 60.0, 30.0)
    nothing = progress[empty.pk]
    assert (nothing.total, nothing.finished, nothing.share, nothing.part(0), nothing.goals) == (0, 0, 0.0, 0.0, 0)


def test_the_campaigns_progress_is_two_queries_for_any_number_of_campaigns():
    campaigns = [make_campaign() for _ in range(6)]
    for campaign in campaigns:
        bulk_leads(campaign, 2, start=campaign.pk * 10)
    with CaptureQueriesContext(connection) as queries:
        progress = campaign_progress(c.pk for c in campaigns)
    assert len(queries) == 2 and {p.total for p in progress.values()} == {2}


def test_the_campaigns_progress_counted_within_the_minute_is_not_counted_again():
    campaign = make_campaign()
    bulk_leads(campaign, 3)
    first = campaign_progress([campaign.pk], now=NOW)[campaign.pk]
    transitions.complete(Lead.objects.all(), actor=Actor.system())
    with CaptureQueriesContext(connection) as queries:
        again = campaign_progress([campaign.pk], now=NOW + datetime.timedelta(seconds=30))[campaign.pk]
    assert len(queries) == 0 and again == first and again.counted_at == NOW
    # The campaign's page counts exactly and leaves its count for the list.
    campaign_dashboard(campaign, now=NOW + datetime.timedelta(seconds=40))
    assert campaign_progress([campaign.pk])[campaign.pk].completed == 3


def test_the_held_counts_serve_a_minute_then_are_counted_again(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(allowed_days=["sunday"])  # NOW is a Tuesday
    campaign.refresh_from_db()
    make_lead(campaign=campaign)
    Lead.objects.update(created_at=ago(hours=1))
    assert held_counts(campaign, now=NOW).outside_window == 1
    make_lead(campaign=campaign)
    Lead.objects.update(created_at=ago(hours=1))

    assert held_counts(campaign, now=NOW + datetime.timedelta(seconds=59)).outside_window == 1
    assert held_counts(campaign, now=NOW + datetime.timedelta(seconds=60)).outside_window == 2
    assert held_counts(campaign, now=NOW, fresh=True).now == NOW


def test_the_dashboard_counts_the_leads_without_the_consent_the_campaign_requires(campaign, admin_client_logged):
    from django.urls import reverse

    make_lead(campaign=campaign)
    assert campaign_dashboard(campaign).held.without_consent is None  # requires none: not shown
    campaign.requires_consent = "express-written"
    campaign.save()
    express = make_lead(campaign=campaign)
    Lead.objects.filter(pk=express.pk).update(consent="express")
    cache.clear()  # the held counts serve a minute
    assert campaign_dashboard(campaign).held.without_consent == 2
    page = admin_client_logged.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert '<span data-held="without-consent">2</span> without express written consent' in page.content.decode()
