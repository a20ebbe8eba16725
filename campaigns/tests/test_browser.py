"""The campaign page as an operator uses it, in Chromium against a live server: start
a campaign and watch the dashboard follow the dialer without reloading the page."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services
from campaigns.models import Campaign
from campaigns.tests.factories import make_campaign
from leads.dialer import passes
from leads.dialer.backends.simulated import SimulatedBackend
from leads.models import Call, Lead
from leads.tests.factories import make_lead
from leadsite.testing import INLINE_SCRIPTS_JS, UNNAMED_SELECTS_JS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_starts_a_campaign_and_watches_the_dashboard_move(signed_in):
    campaign = make_campaign(name="Spring", max_calls_in_parallel=2)
    for _ in range(6):
        make_lead(campaign=campaign)
    backend = SimulatedBackend(
        seed=5,
        odds={"completed": 1, "voicemail": 0, "no-answer": 0, "busy": 0, "failed": 0, "invalid-number": 0},
        # Every conversation ends the lead: no opt-out (Do not call) or callback (Rescheduled),
        # which the draw would give some lead ids and not others.
        opt_out_odds=0,
        callback_odds=0,
    )
    page = signed_in
    page.goto(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    dashboard = page.locator("#campaign-dashboard")
    expect(dashboard).to_contain_text("Draft")
    expect(dashboard.locator("[data-status=created]")).to_have_text("6")

    page.get_by_role("link", name="Start", exact=True).click()
    page.get_by_role("button", name="Start the campaign").click()
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
    expect(page.get_by_role("link", name="Resume", exact=True)).to_be_visible()


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


# What the live region says, each time it changes (a screen reader reads each change).
RECORD_ANNOUNCEMENTS_JS = """() => {
  window.announcements = [];
  const region = document.querySelector("#campaign-dashboard-changes");
  new MutationObserver(() => window.announcements.push(region.textContent.trim()))
    .observe(region, {childList: true, characterData: true, subtree: true});
}"""
FOCUSED_JS = (
    "() => document.activeElement.closest('#campaign-dashboard') && document.activeElement.getAttribute('href')"
)
# Whether the dashboard, as merged, is the one the server renders now.
IS_FRESH_JS = """async () => {
  const box = document.querySelector("#campaign-dashboard");
  const fresh = document.createElement("template");
  fresh.innerHTML = await (await fetch(box.dataset.url, {credentials: "same-origin"})).text();
  const nodes = Array.from(fresh.content.childNodes);
  return nodes.length === box.childNodes.length && nodes.every((node, i) => node.isEqualNode(box.childNodes[i]));
}"""


def test_the_dashboard_refresh_keeps_the_focus_and_announces_what_changed(signed_in):
    campaign = make_campaign(name="Spring", max_calls_in_parallel=2)
    for _ in range(4):
        make_lead(campaign=campaign)
    services.campaign_start(campaign=campaign)
    backend = SimulatedBackend(
        seed=5,
        odds={"completed": 1, "voicemail": 0, "no-answer": 0, "busy": 0, "failed": 0, "invalid-number": 0},
        # Every conversation ends the lead: no opt-out (Do not call) or callback (Rescheduled),
        # which the draw would give some lead ids and not others.
        opt_out_odds=0,
        callback_odds=0,
    )
    page = signed_in
    page.goto(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    dashboard = page.locator("#campaign-dashboard")
    expect(page.locator("#campaign-dashboard-changes")).to_have_attribute("aria-live", "polite")
    assert page.evaluate(INLINE_SCRIPTS_JS) == [] and page.evaluate(UNNAMED_SELECTS_JS) == []
    page.evaluate(RECORD_ANNOUNCEMENTS_JS)
    # A keyboard user on the link to the Created leads, as Tab leaves them there.
    created = dashboard.locator("a", has=page.locator("[data-status=created]"))
    created.focus()
    href = created.get_attribute("href")

    def refreshed() -> None:
        with page.expect_response(lambda response: response.url.endswith("/dashboard/")):
            pass
        page.wait_for_timeout(300)  # the response is read and the page updated

    # Nothing moved: the refresh leaves the focus where it was and says nothing.
    refreshed()
    assert page.evaluate(FOCUSED_JS) == href
    assert page.evaluate("window.announcements") == []

    # Two calls placed: the figures change, the focus stays, the change is said (in
    # a few words, not the whole dashboard), and said no more once nothing moves.
    passes.run_pass(now=timezone.now(), backend=backend)
    expect(dashboard.locator("[data-figure=in-flight]")).to_have_text("2")
    expect(dashboard.locator("[data-status=created]")).to_have_text("2")
    assert page.evaluate(FOCUSED_JS) == href
    expect(page.locator("#campaign-dashboard-changes")).to_contain_text("2 calls in progress")
    said = page.evaluate("window.announcements")
    assert said and all(len(text) < 200 and "Outcomes" not in text for text in said), said
    refreshed()
    assert page.evaluate("window.announcements") == said
    assert page.evaluate(FOCUSED_JS) == href
    assert page.evaluate(IS_FRESH_JS)

    # Paused: a note appears above the figures; the rest is kept as it is.
    services.campaign_pause(campaign=campaign)
    expect(dashboard).to_contain_text("2 leads wait for Resume")
    expect(page.locator("#campaign-dashboard-changes")).to_contain_text("Paused")
    assert page.evaluate(FOCUSED_JS) == href
    assert page.evaluate(IS_FRESH_JS)


def test_operator_sees_progress_on_the_list_and_the_rates_and_calls_per_hour_on_the_page(signed_in):
    campaign = make_campaign(name="Winter", max_calls_in_parallel=2)
    for _ in range(6):
        make_lead(campaign=campaign)
    backend = SimulatedBackend(
        seed=7,
        odds={"completed": 1, "voicemail": 0, "no-answer": 0, "busy": 0, "failed": 0, "invalid-number": 0},
        goal_odds=1.0,
    )
    services.campaign_start(campaign=campaign)
    # Twenty minutes ago two calls were placed; ten minutes ago they had ended (two
    # conversations, goal achieved) and the next two leads' calls were placed.
    now = timezone.now()
    Lead.objects.update(created_at=now - datetime.timedelta(hours=1))  # imported an hour ago
    passes.run_pass(now=now - datetime.timedelta(minutes=20), backend=backend)
    passes.run_pass(now=now - datetime.timedelta(minutes=10), backend=backend)

    page = signed_in
    page.goto("/admin/")
    page.locator("tr.model-campaign").get_by_role("link", name="Campaigns").first.click()
    row = page.locator("#result_list tbody tr", has_text="Winter")
    expect(row.get_by_role("img", name="33.3% done: 2 of 6 leads (Completed 2)")).to_be_visible()
    expect(row.locator("td.field-goals")).to_have_text("2")
    row.get_by_role("link", name="Winter").click()

    dashboard = page.locator("#campaign-dashboard")
    expect(dashboard.locator("[data-rate=answer]")).to_have_text("100.0%")
    expect(dashboard.locator("[data-rate=goal]")).to_have_text("100.0%")
    expect(dashboard.locator("[data-rate=voicemail]")).to_have_text("0.0%")
    expect(dashboard.locator("[data-rate=goals-total]")).to_have_text("2")
    expect(dashboard).to_contain_text("2 conversations of 2 ended calls")
    chart = page.get_by_role("list", name="Calls per hour, last 24 hours (hours in UTC)")
    bars = chart.get_by_role("listitem")
    expect(bars).to_have_count(24)
    # Two ended, two in flight: four placed in the last 20 minutes (one hour or two).
    expect(chart).to_contain_text("UTC: ")
    assert sum(int(n) for n in re.findall(r"UTC: (\d+) call", chart.text_content())) == 4
    expect(dashboard.locator("[data-finish]")).to_contain_text("at the earliest around")
    expect(dashboard).to_contain_text("2 leads still to dial at 4 calls an hour")
    assert page.evaluate(INLINE_SCRIPTS_JS) == []

    # The dialer goes on while the page is open: the rates follow with the refresh.
    passes.run_pass(now=timezone.now(), backend=backend)
    expect(dashboard.locator("[data-rate=goals-total]")).to_have_text("4")
    expect(dashboard).to_contain_text("4 conversations of 4 ended calls")
    expect(dashboard.locator("[data-finish]")).to_have_text("no lead left to dial: the calls in progress are the last")


def test_operator_starts_through_the_confirmation_and_sees_who_cannot_be_called(signed_in):
    # Calls only on the day after tomorrow (UTC), 09:00 to 17:00 in each number's zone:
    # nobody may be called now, wherever the test runs.
    day = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"][
        (timezone.now().weekday() + 2) % 7
    ]
    campaign = make_campaign(
        name="Autumn", allowed_days=[day], allowed_hours_start=datetime.time(9), requires_consent="express"
    )
    for consent in ("express", "express-written", "none"):
        make_lead(campaign=campaign, consent=consent)
    Lead.objects.update(created_at=timezone.now() - datetime.timedelta(hours=1))
    page = signed_in
    page.goto(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    page.get_by_role("link", name="Start", exact=True).click()

    expect(page.locator("h1")).to_contain_text("Start “Autumn”?")
    held = page.locator("ul.dashboard-held")
    expect(held).to_contain_text("2 leads are outside their calling window now (next opens")
    expect(held).to_contain_text("0 over a calling cap")
    expect(held).to_contain_text("1 without express consent, which this campaign requires")
    assert Campaign.objects.get().status == Campaign.Status.DRAFT  # asking starts nothing
    page.get_by_text("How calling rules work").click()
    expect(page.locator(".calling-rules-help")).to_contain_text("callee's local time")

    page.get_by_role("button", name="Start the campaign").click()
    expect(page.locator("ul.messagelist")).to_contain_text("“Autumn” is running.")
    assert Campaign.objects.get().status == Campaign.Status.IN_PROGRESS
    dashboard = page.locator("#campaign-dashboard")
    expect(dashboard.locator("[data-held=outside-window]")).to_have_text("2")
    expect(dashboard.locator("[data-held=without-consent]")).to_have_text("1")
