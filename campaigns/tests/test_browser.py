"""The campaign page as an operator uses it, in Chromium against a live server: start
a campaign and watch the dashboard follow the dialer without reloading the page."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services
from campaigns.models import Campaign
from campaigns.tests.factories import make_campaign
from leads.dialer import passes
from leads.dialer.backends.simulated import SimulatedBackend
from leads.models import Call
from leads.tests.factories import make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_starts_a_campaign_and_watches_the_dashboard_move(signed_in):
    campaign = make_campaign(name="Spring", max_calls_in_parallel=2)
    for _ in range(6):
        make_lead(campaign=campaign)
    backend = SimulatedBackend(
        seed=5, odds={"completed": 1, "voicemail": 0, "no-answer": 0, "busy": 0, "failed": 0, "invalid-number": 0}
    )
    page = signed_in
    page.goto(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    dashboard = page.locator("#campaign-dashboard")
    expect(dashboard).to_contain_text("Draft")
    expect(dashboard.locator("[data-status=created]")).to_have_text("6")

    page.get_by_role("button", name="Start").click()
    expect(page.locator("ul.messagelist")).to_contain_text("“Spring” is running.")
    expect(dashboard).to_contain_text("In progress")
    assert Campaign.objects.get().status == Campaign.Status.IN_PROGRESS

    # The dialer's passes, while the page stays open: the dashboard refreshes itself.
    now = timezone.now()
    passes.run_pass(now=now, backend=backend)
    assert Call.objects.count() == 2
    expect(dashboard.locator("[data-figure=in-flight]")).to_have_text("2")
    expect(dashboard.locator("[data-status=processing]")).to_have_text("2")
    expect(dashboard.locator("[data-status=created]")).to_have_text("4")

    # Ten minutes on, the first calls have ended and the next two are placed.
    passes.run_pass(now=now + datetime.timedelta(minutes=10), backend=backend)
    expect(dashboard.locator("[data-status=completed]")).to_have_text("2")
    expect(dashboard.locator("[data-status=created]")).to_have_text("2")
    expect(dashboard).to_contain_text("Completed (a conversation)")
    expect(dashboard.locator("[data-figure=progress]")).to_have_text("33.3%")

    page.get_by_role("button", name="Pause").click()
    expect(page.locator("ul.messagelist")).to_contain_text("is paused")
    expect(dashboard).to_contain_text("2 leads wait for Resume")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()


def test_operator_follows_a_leads_calls_to_the_calls_list_and_a_call(signed_in):
    campaign = make_campaign(name="Autumn", max_calls_in_parallel=2)
    lead = make_lead(campaign=campaign, variables={"customer_name": "Ana"})
    make_lead(campaign=campaign)
    backend = SimulatedBackend(
        seed=2, odds={"completed": 0, "voicemail": 0, "no-answer": 1, "busy": 0, "failed": 0, "invalid-number": 0}
    )
    services.campaign_start(campaign=campaign)
    now = timezone.now()
    passes.run_pass(now=now, backend=backend)
    passes.run_pass(now=now + datetime.timedelta(minutes=5), backend=backend)  # both calls ended: no answer

    page = signed_in
    page.goto(f"/admin/leads/lead/{lead.pk}/change/")
    expect(page.locator("#calls-group")).to_contain_text("No answer")
    page.locator("#calls-group + p.history-inline-link a").click()  # "All of them", under the calls
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.goto("/admin/leads/call/")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.locator("#changelist-filter").get_by_role("link", name="No answer").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.locator("#changelist-filter").get_by_role("link", name="Busy").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(0)
    page.goto(f"/admin/leads/call/?lead={lead.pk}")
    page.locator("#result_list tbody tr th a, #result_list tbody tr td a").first.click()
    expect(page.locator("#content")).to_contain_text("Lead")
    expect(page.locator("#content")).to_contain_text("No answer")
