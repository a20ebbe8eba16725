"""A demo call followed in Chromium, as an operator would after ``make run``: from the
campaign page to a lead its calls completed, to the call that completed it, its
transcript and the recording's player. The data is the real demo (``seed_demo``: the
dialer's own passes over the simulated backend), not rows written for the test."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from campaigns.models import Campaign
from leads.models import Call, Lead, LeadStatus
from leads.seeding import RENEWALS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_follows_a_demo_call_from_the_campaign_page_to_its_transcript_and_recording(
    signed_in, live_server, settings
):
    # The demo's recordings are addressed at the site, here the live server.
    settings.LEADS_DIALER = {**settings.LEADS_DIALER, "CALLBACK_BASE_URL": live_server.url}
    call_command("seed_demo", "--leads", "60", verbosity=0)
    campaign = Campaign.objects.get(name=RENEWALS)
    completed = Lead.objects.filter(campaign=campaign, status=LeadStatus.COMPLETED).order_by("-id")
    assert completed.exists(), "the demo's renewals campaign completes some leads"
    lead = completed.first()  # the list's first row: newest first
    call = Call.objects.get(pk=lead.conversation_call_id)
    assert call.transcript and call.recording_url

    page = signed_in
    page.goto("/admin/campaigns/campaign/")
    page.get_by_role("link", name=RENEWALS).click()
    dashboard = page.locator("#campaign-dashboard")
    expect(dashboard.locator("[data-status=completed]")).to_have_text(str(completed.count()))

    dashboard.locator("a", has=page.locator("[data-status=completed]")).click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(completed.count())
    rows.first.locator("th a").first.click()

    expect(page.locator("h2, h1").filter(has_text=call.phone).first).to_be_visible()
    page.get_by_role("link", name=f"to {call.phone}").filter(has_text="the call of").click()

    dialogue = page.get_by_role("region", name="Transcript")
    turns = dialogue.locator("li")
    expect(turns).to_have_count(len(call.transcript))
    expect(turns.first).to_contain_text(call.transcript[0]["text"])
    audio = page.locator("audio.call-recording")
    expect(audio).to_have_attribute("src", call.recording_url)
    # The recording is the demo's own file, served by the site: it loads and plays.
    duration = audio.evaluate(
        """audio => new Promise((resolve, reject) => {
            audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
            audio.addEventListener("error", () => reject(new Error("the recording did not load")));
            audio.preload = "metadata";
            audio.load();
        })"""
    )
    assert duration > 1
